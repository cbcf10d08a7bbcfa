"""Downloads of an order's files: through the order's door, audited, served so no browser runs them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_GET

from hotline.accounts import access
from hotline.web.views.common import client_ip
from hotline.workorders import attachments


@login_required
@require_GET
def attachment_file(request, pk):
    """The file itself: every download leaves an audit row (who took which file of which order)."""
    attachment, order = attachments.access_attachment_by_id(request.user, pk)
    # The trail names the file as anyone outside the center reads it: a caller's name in it stays masked.
    access.audit(request.user, "download_attachment", obj=order, ip=client_ip(request), attachment=attachment.pk,
                 name=access.outside_text(order, attachment.name), kind=attachment.kind)
    return attachments.file_response(attachment, name=access.shield_text(request.user, order, attachment.name))


@login_required
@require_GET
def attachment_thumbnail(request, pk):
    """The thumbnail shown on the order page. Not audited one by one: opening the page that shows
    it is (for units, ``audit_order_view``), and the full file is audited when taken."""
    attachment, order = attachments.access_attachment_by_id(request.user, pk)
    return attachments.file_response(attachment, thumbnail=True,
                                     name=access.shield_text(request.user, order, attachment.name))
