"""The pipeline's apps (marathon/apps), on Marathon where the inventory has one, else
as services on its Docker Swarm (deploys/pipeline).

    pyinfra inventories/bigdata.py deploys/apps.py \
        --data 'pipeline_image_tags={"bigdata/pipeline": "TAG", "bigdata/spark-job": "TAG"}'

Not part of site.py: the platform comes first, and its tests share hosts with
services whose consumer groups would collide with running pipeline apps.
"""
from deploys.components import APPS
from deploys.progress import report

report()  # live progress for ./bigdata, when it asks
APPS.install()
