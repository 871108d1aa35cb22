{#-
    The current version of every live (not soft-deleted) NOMIS sentence,
    ranked within its booking so that rank 1 is the booking's principal
    sentence: indeterminate sentences (life, IPP) first, then determinate
    sentences from the longest, then remand; ties go to the earliest start,
    then the sentence id. Booking-level counts say whether the booking holds
    only remand.
-#}

with

sentences as (

    select * from {{ ref('stg_nomis__sentences') }}
    where not is_deleted

),

sentences_ranked as (

    select
        *,
        row_number() over (
            partition by booking_id
            order by
                case sentence_type_code
                    when 'LIFE' then 1
                    when 'IPP' then 1
                    when 'DETERMINATE' then 2
                    when 'REMAND' then 3
                    else 4
                end asc,
                coalesce(sentence_length_days, 0) desc,
                sentence_start_date asc,
                sentence_id asc
        ) as sentence_rank,
        count(*) over (partition by booking_id) as booking_sentence_count,
        sum(case when sentence_type_code = 'REMAND' then 0 else 1 end) over (
            partition by booking_id
        ) as booking_non_remand_sentence_count
    from sentences

),

final as (

    select
        -- ids
        sentence_id,
        booking_id,

        -- strings
        offence_code,
        sentence_type_code,

        -- numerics
        sentence_length_days,
        cast(sentence_rank as {{ dbt.type_int() }}) as sentence_rank,
        cast(booking_sentence_count as {{ dbt.type_int() }})
            as booking_sentence_count,
        cast(booking_non_remand_sentence_count as {{ dbt.type_int() }})
            as booking_non_remand_sentence_count,

        -- booleans
        sentence_rank = 1 as is_principal,
        booking_non_remand_sentence_count = 0 as is_booking_remand_only,

        -- dates
        sentence_start_date,
        conditional_release_date

    from sentences_ranked

)

select * from final
