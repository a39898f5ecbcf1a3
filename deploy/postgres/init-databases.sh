#!/usr/bin/env bash
# First start of deploy/compose.yml's PostgreSQL (an empty data volume): one database per service, each
# owned by a role of its own, so a service can reach no other service's data. The passwords come from
# deploy/.env through the container's environment; psql quotes them (:'password'), so no value can
# break out of the statement.
set -euo pipefail

for service in intake review notify; do
    variable="TDKT_${service^^}_DB_PASSWORD"
    password="${!variable:?$variable must be set (deploy/.env)}"
    psql --variable=ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         --set=role="tdkt_$service" --set=database="$service" --set=password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL
done
