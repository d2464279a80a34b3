"""The platform's services as Marathon apps: one definition per service
(`marathon/apps/`), the JSON Schema those definitions are checked against, derived
from Marathon's RAML (`marathon/schema/`), and their submission to Marathon
(`python -m marathon.submit`). See marathon/README.md."""

# The HTTP basic auth user Marathon is deployed with (deploys/marathon's default for
# `marathon_http_user`) and the one `python -m marathon.submit` logs in as. It lives
# here so that submitting needs neither pyinfra nor an inventory.
DEFAULT_HTTP_USER = "bigdata"
