# PostgreSQL 15 from Debian 12's packages for the container tests' S7d drill, where no registry is reachable: built
# on the Debian base the tests make by debootstrap, from a context that holds only the .deb files apt downloaded on
# the host (images.py: the packages the base lacks), so nothing here needs a network. One cluster, trust
# authentication: it is reachable only on the test's own internal network.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY *.deb /tmp/debs/
# policy-rc.d: the packages' scripts must not start a server inside the build
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d \
 && mkdir -p /etc/postgresql-common \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
 && dpkg -i /tmp/debs/*.deb \
 && rm -rf /tmp/debs /usr/sbin/policy-rc.d \
 && install -d -o postgres -g postgres /var/lib/postgresql/test /var/run/postgresql \
 && su postgres -c "/usr/lib/postgresql/15/bin/initdb -D /var/lib/postgresql/test --auth=trust -U postgres \
        -E UTF8 --locale=C" \
 && echo "host all all 0.0.0.0/0 trust" >> /var/lib/postgresql/test/pg_hba.conf
USER postgres
EXPOSE 5432
# as the official postgres image: docker stop and docker restart ask for a fast shutdown (sessions ended, a
# checkpoint), where SIGTERM's smart one would wait for the target's pooled connections until Docker's SIGKILL
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/lib/postgresql/15/bin/postgres", "-D", "/var/lib/postgresql/test", "-c", "listen_addresses=*"]
