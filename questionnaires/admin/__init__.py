"""Django admin for every model, one module per area; importing this package registers them all.

Every admin is clinic-scoped (questionnaires/admin/scoping.py); other apps' admins, registered before this
app's, are re-registered for superusers only.
"""

from django.contrib import admin
from rest_framework_api_key.models import APIKey

# Importing these registers the model admins.
import questionnaires.admin.practice_models  # noqa: F401  (goals, background categories)
from questionnaires.admin import audit, care, clinics, credentials, exports, responses, webhooks  # noqa: F401
from questionnaires.admin.scoping import restrict_other_apps_to_superusers

# The library's own key model is unused here (keys are bound to a clinic); hiding it avoids a second,
# clinic-less key list that would look like a way to issue keys.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)

restrict_other_apps_to_superusers(admin.site)

# An app template cannot shadow admin/index.html while django.contrib.admin is listed first, so the
# index points at its own template, which extends the stock one.
admin.site.index_template = "admin/alliance_index.html"
admin.site.site_header = "Alliance API administration"
admin.site.site_title = "Alliance API admin"
