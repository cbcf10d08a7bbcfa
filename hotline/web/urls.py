from django.urls import path

from hotline.web.views import attachments, audit, dashboard, intake, knowledge, notifications, orders, queues

urlpatterns = [
    path("", orders.home, name="home"),
    path("intake/", intake.intake, name="intake"),
    path("intake/lookup/", intake.intake_lookup, name="intake_lookup"),
    path("intake/kb/", intake.kb_search, name="kb_search"),
    path("intake/queue/", queues.intake_queue, name="intake_queue"),
    path("dispatch/", queues.dispatch_board, name="dispatch"),
    path("inbox/", queues.inbox, name="inbox"),
    path("callbacks/", queues.callbacks, name="callbacks"),
    path("supervision/", queues.supervision, name="supervision"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("kb/", knowledge.kb_list, name="kb_list"),
    path("kb/new/", knowledge.kb_edit, name="kb_new"),
    path("kb/<int:pk>/", knowledge.kb_detail, name="kb_detail"),
    path("kb/<int:pk>/edit/", knowledge.kb_edit, name="kb_edit"),
    path("kb/<int:pk>/review/", knowledge.kb_review, name="kb_review"),
    path("orders/", orders.order_list, name="order_list"),
    path("orders/export.xlsx", orders.order_export, name="order_export"),
    path("orders/<str:key>/", orders.order_detail, name="order_detail"),
    path("orders/<str:key>/reveal/", orders.reveal_contact, name="order_reveal"),
    path("orders/<str:key>/act/<str:action>/", orders.order_action, name="order_action"),
    path("attachments/<str:pk>/", attachments.attachment_file, name="attachment_file"),
    path("attachments/<str:pk>/thumb/", attachments.attachment_thumbnail, name="attachment_thumb"),
    path("audit/", audit.audit_log, name="audit_log"),
    path("notifications/", notifications.centre, name="notifications"),
    path("notifications/read/", notifications.mark_all_read, name="notifications_read_all"),
    path("notifications/<int:pk>/read/", notifications.mark_read, name="notification_read"),
    path("live/stream/", notifications.stream, name="live_stream"),
    path("healthz", orders.healthz, name="healthz"),
]
