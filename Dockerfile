# Berth's image. docker-compose.yml runs web (gunicorn), worker and beat (Celery) and the
# one-shot bootstrap and registry-config steps from it; the registry itself is `registry:2`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=registry_ui.settings \
    BERTH_DATA_DIR=/data

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so code changes reuse this layer.
# python-ldap (LDAP sign-in) builds from source: the compiler and -dev packages are removed
# again afterwards, the libraries it links against stay.
COPY pyproject.toml ./
COPY deploy/requirements.py deploy/
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gcc libc6-dev libldap2-dev libsasl2-dev libldap-2.5-0 libsasl2-2 \
    && python deploy/requirements.py > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && apt-get purge -y --auto-remove gcc libc6-dev libldap2-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/* /tmp/requirements.txt

# /data holds keys, generated secrets and the beat schedule; /etc/distribution is where the
# registry-config step writes the registry's config for the registry container.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home berth \
    && mkdir -p /data /etc/distribution \
    && chown berth:berth /data /etc/distribution

COPY manage.py ./
COPY registry_ui registry_ui
COPY dashboard dashboard
COPY templates templates
COPY static static
COPY deploy deploy

USER berth
VOLUME ["/data"]
EXPOSE 8000
CMD ["gunicorn", "registry_ui.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
