import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hotline.settings")
application = get_wsgi_application()

# Load the URLconf (every view module) now, then put everything loaded so far out of the garbage
# collector's reach. An app process holds some 200,000 objects that live as long as it does
# (modules, models, URL patterns); each full collection walked all of them, 60–260 ms, and one came
# every thirty-odd pages: the slow tail of /inbox/ (docs/performance.md, "/inbox/ 的慢尾巴"). Frozen,
# a full collection walks only what requests made since, a few ten thousand objects.
get_resolver().url_patterns  # noqa: B018 (imported for its side effect)
gc.collect()
gc.freeze()
