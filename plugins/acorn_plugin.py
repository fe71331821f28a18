"""ACORN's Airflow plugin: the reviewer's page, served by the Airflow API server and shown in the Airflow UI.

``fastapi_apps`` mounts the page and its API at ``/acorn`` (no second web server); ``external_views`` puts
"Refund review" under Browse in the UI's navigation and a "Review items" tab on every ACORN DAG run.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class AcornPlugin(AirflowPlugin):
    name = "acorn"

    @property
    def fastapi_apps(self) -> list[dict]:  # imported only by the API server, which asks for it
        from acorn_airflow.page.app import app

        return [{"app": app, "url_prefix": "/acorn", "name": "ACORN reviewer's page"}]

    external_views = [  # noqa: RUF012 - the AirflowPlugin interface is a class attribute list
        {
            "name": "Refund review",
            "href": "/acorn/review/",
            "destination": "nav",
            "category": "browse",
            "url_route": "acorn-review",
        },
        {
            "name": "Review items",
            "href": "/acorn/review/?run_id={RUN_ID}&state=all",
            "destination": "dag_run",
            "url_route": "acorn-review-run",
        },
    ]
