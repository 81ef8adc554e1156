{#- Generated from contracts/_code_lists.yml by `worklink contracts build-seeds`: edit that file. -#}
{% macro code_list(name) -%}
{%- set lists = {
    "referral_source": ["gp", "self", "jcp", "employer", "pharmacist", "community_vcse", "social_prescriber", "talking_therapies", "housing", "adult_social_care", "council_hub", "other"],
    "priority_group": ["health_condition", "disability", "carer"],
    "main_condition": ["mental_health", "musculoskeletal", "autism", "heart_circulation", "learning_difficulty", "other"],
    "sex": ["f", "m"],
    "ethnicity": ["asian, asian british or asian welsh: bangladeshi", "asian, asian british or asian welsh: chinese", "asian, asian british or asian welsh: indian", "asian, asian british or asian welsh: pakistani", "asian, asian british or asian welsh: other asian", "black, black british, black welsh, caribbean or african: african", "black, black british, black welsh, caribbean or african: caribbean", "black, black british, black welsh, caribbean or african: other black", "mixed or multiple ethnic groups: white and asian", "mixed or multiple ethnic groups: white and black african", "mixed or multiple ethnic groups: white and black caribbean", "mixed or multiple ethnic groups: other mixed or multiple ethnic groups", "white: english, welsh, scottish, northern irish or british", "white: irish", "white: gypsy or irish traveller", "white: roma", "white: other white", "other ethnic group: arab", "other ethnic group: any other ethnic group"],
    "economic_status": ["employed_off_sick", "employed_at_risk", "unemployed_lt_12wks", "unemployed_12wks_plus", "inactive_long_term_sick", "inactive_looking_after_home", "inactive_other"],
    "contact_mode": ["face_to_face", "phone", "video", "group"],
    "activity_type": ["keyworker_session", "action_plan_review", "physio", "counselling", "cv_job_search", "digital_skills", "esol", "money_advice", "peer_group", "physical_activity", "volunteering_placement", "training_course"],
    "instrument": ["wemwbs", "swemwbs", "ons4", "phq9", "gad7"],
    "timepoint": ["baseline", "review", "exit"],
    "evidence_type": ["payslip", "employer_confirmation", "self_declared", "contract"],
    "qualification_gained": ["none", "esol", "other"],
    "leaver_reason": ["completed_support", "entered_employment", "entered_education_training", "transferred_programme", "withdrew", "health_deteriorated", "moved_away", "lost_contact", "ineligible_on_review", "other"],
    "fit_note_status": ["none", "not_fit", "may_be_fit"],
    "uc_conditionality_regime": ["searching_for_work", "working_with_requirements", "no_work_requirements", "working_no_requirements", "planning_for_work", "preparing_for_work"],
    "esa_group": ["wrag", "support_group"],
    "pay_frequency": ["weekly", "monthly"],
    "hours_band": ["a", "b", "c", "d", "e"],
    "ineligible_reason": ["not_economically_inactive", "no_health_condition_or_caring_role", "already_supported_elsewhere", "not_manchester_resident"],
    "did_not_start_reason": ["ineligible", "no_contact", "declined", "not_ready_health", "health_deteriorated", "referred_elsewhere", "moved_away", "other"],
    "job_update_type": ["job_ended", "hours_changed", "pay_changed"],
    "workwell_work_status": ["in_work", "out_of_work"],
    "workwell_exit_reason": ["completed_support", "returned_to_work", "retained_in_work", "entered_employment", "withdrew", "health_deteriorated", "referred_elsewhere", "lost_contact", "moved_away", "other"],
    "fit_note_change": ["not_fit", "may_be_fit", "fit_for_work", "returned_to_work"]
} -%}
{{ return(lists[name]) }}
{%- endmacro %}
