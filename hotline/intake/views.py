"""HTTP adapters of intake: the upstream platforms' push endpoint."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from hotline.intake import upstream


@csrf_exempt  # machine-to-machine: authenticated by the HMAC signature, not a session
@require_POST
def push_order(request, platform_code: str):
    """``POST /intake/upstream/<platform code>/orders``: an upstream platform pushes one order."""
    status, payload = upstream.receive_push(platform_code, request.body, request.headers)
    return JsonResponse(payload, status=status, json_dumps_params={"ensure_ascii": False})
