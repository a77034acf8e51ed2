# syntax=docker/dockerfile:1
# The hub image: JupyterHub with nbplatform's spawner, authenticator and profile
# filter (the chart's hub.extraConfig imports nbplatform_hub), and the platform's
# own processes that `render-k8s` runs from it: the platform service with every
# capability, MLflow and the job scheduler on the Dask
# operator; PostgreSQL and S3 drivers included. Build from the repository root:
#   docker build -f images/hub.Dockerfile -t <registry>/nbplatform/hub:<tag> .
FROM python:3.11.14-slim-bookworm
# An index that serves torch's CPU build keeps the image small (nothing here
# trains); empty takes the default index.
ARG TORCH_INDEX_URL=
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
# git: the scheduler records the commit of each job's notebook.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini \
 && rm -rf /var/lib/apt/lists/*
# The platform's pods run as the single-user images' user, so files on the
# shared volume stay readable by all of them; the hub pod runs as the chart says.
RUN useradd --create-home --uid 1000 --gid 100 --shell /bin/bash jovyan
COPY lib /src/lib
COPY hub /src/hub
COPY jobs /src/jobs
COPY features /src/features
COPY drift /src/drift
COPY kernels /src/kernels
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
      pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" 'torch==2.13.0'; \
    else pip install --no-cache-dir 'torch==2.13.0'; fi \
 && pip install --no-cache-dir '/src/lib[all]' '/src/hub[postgres,s3]' '/src/jobs[kubernetes]' \
      /src/features /src/drift \
 && for k in /src/kernels/nbplatform-cpu /src/kernels/nbplatform-gpu; do \
      jupyter kernelspec install "$k" --sys-prefix --replace; done
WORKDIR /srv/jupyterhub
EXPOSE 8081
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub", "--config", "/usr/local/etc/jupyterhub/jupyterhub_config.py"]
