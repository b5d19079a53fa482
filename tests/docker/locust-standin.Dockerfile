# A stand-in for the official locustio/locust image where no registry is reachable, with its layout: user locust
# (uid 1000) owning the virtual environment /opt/venv, which is first on PATH, entrypoint locust, working directory
# /home/locust, ports 8089 (web UI) and 5557 (workers). Built on the Debian base the tests make by debootstrap, from
# a context that holds only the wheels of Locust and its dependencies, downloaded on the host: nothing here needs
# a network.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG LOCUST_VERSION
COPY . /tmp/locust-wheels/
RUN useradd --create-home --uid 1000 locust \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --find-links /tmp/locust-wheels --no-cache-dir \
        --disable-pip-version-check --quiet "locust==${LOCUST_VERSION}" \
 && chown -R locust /opt/venv \
 && rm -rf /tmp/locust-wheels
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1
USER locust
WORKDIR /home/locust
EXPOSE 8089 5557
ENTRYPOINT ["locust"]
