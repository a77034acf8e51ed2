# syntax=docker/dockerfile:1
# The CPU single-user image: JupyterLab with the nbplatform extension, the
# platform library with every extra, the nbplatform kernelspecs, and the jobs
# package (Dask job workers run notebooks in this image). Build from the
# repository root:
#   docker build -f images/singleuser-cpu.Dockerfile -t <registry>/nbplatform/singleuser-cpu:<tag> .

# -- the JupyterLab extension's wheel (its JavaScript needs Node.js) -----------
FROM node:20.19-bookworm-slim AS labext
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build
ENV PATH=/opt/build/bin:$PATH
RUN pip install --no-cache-dir 'jupyterlab>=4.6,<5' 'hatch-jupyter-builder>=0.10' 'hatchling>=1.25'
COPY extensions/nbplatform-lab /src/extensions/nbplatform-lab
RUN cd /src/extensions/nbplatform-lab && jlpm install && jlpm build:prod \
 && pip wheel --no-cache-dir --no-deps -w /wheels .

# -- the image -----------------------------------------------------------------
FROM python:3.11.14-slim-bookworm
# An index that serves torch's CPU build keeps the image small; empty takes the
# default index (whose torch==2.13.0 for Linux is the CUDA build).
ARG TORCH_INDEX_URL=
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini \
 && rm -rf /var/lib/apt/lists/*
# z2jh's convention: jovyan, uid 1000, group users (100), home /home/jovyan.
RUN useradd --create-home --uid 1000 --gid 100 --shell /bin/bash jovyan
COPY lib /src/lib
COPY jobs /src/jobs
COPY kernels /src/kernels
COPY --from=labext /wheels /wheels
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
      pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" 'torch==2.13.0'; \
    else pip install --no-cache-dir 'torch==2.13.0'; fi \
 && pip install --no-cache-dir '/src/lib[all]' /src/jobs /wheels/*.whl 'jupyterhub>=6.1,<7' \
 && for k in /src/kernels/nbplatform-cpu /src/kernels/nbplatform-gpu; do \
      jupyter kernelspec install "$k" --sys-prefix --replace; done \
 && jupyter labextension disable --level=sys_prefix "@jupyterlab/apputils-extension:announcements"
USER 1000
WORKDIR /home/jovyan
EXPOSE 8888
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub-singleuser"]
