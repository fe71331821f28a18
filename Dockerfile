# ACORN on the official Airflow 3.3.2 image: the pinned stack plus the acorn package (include/ and plugins/).
FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt pyproject.toml README.md /opt/acorn/
COPY --chown=airflow:root include /opt/acorn/include
COPY --chown=airflow:root plugins /opt/acorn/plugins
RUN pip install --no-cache-dir -r /opt/acorn/requirements.txt \
 && pip install --no-cache-dir --no-deps -e /opt/acorn
