"""Messages that third-party apps show in the back office but translate in no Japanese catalogue of their own.

Listed here (marked, not translated, at import) so makemessages puts them in the registry's catalogue; Django
looks up every app's gettext call in one merged catalogue, where the project's LOCALE_PATHS come first.
"""

from django.utils.translation import gettext_noop

DJANGO_Q2 = [gettext_noop("Tasks"), gettext_noop("Successful tasks"), gettext_noop("Failed tasks"),
             gettext_noop("Scheduled tasks"), gettext_noop("Queued tasks")]
