"""The operators' console: server-rendered Chinese pages (Jinja2), one router per resource.

    static          the console's own CSS and JS
    signin          sign-in and sign-out, the start page
    board           the status board (board_filter: its GET parameters)
    item            one item's story (item_history: versions and signatures; item_actions:
                    each publication's buttons and what they do)
    health, alerts  system health with the channel pauses; the alerts list
    todo            我的待办
    submit          new submissions and revisions (submit_form: the form's values and draft)
    editor          the form's editor: vendored scripts, image and Word uploads
                    (editor_html: its <img> srcs)
    reviewing       review and sign-off (review_form: the decision and 稿件用途's rows)
    upward          综合科's upward queue and reposts
    package         assisted channels: the publish package, its record and take-down
    me              a person's notification settings
    calendar_view, calendar_moves, calendar_feeds   排期日历: the grid, moves and 改期, .ics
    reports         statistics and bulletins

Shared by them: common (the signed-in person as a parameter, the clock, form fields, the
channels' order, an action's outcome as a flash), attention (which rows are overdue or need a
look), routers (gathering routers into one).

orchestrator.web.pages, pages_work, pages_manual, pages_me, pages_calendar and pages_reports
each gather some of these routers into the one `router` the application includes.
"""
