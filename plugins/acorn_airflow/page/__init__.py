"""The reviewer's page: a FastAPI app the Airflow API server serves under ``/acorn``, shown in the Airflow UI
through an external view (Browse > Refund review), behind Airflow's own login and auth manager."""
