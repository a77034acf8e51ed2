# syntax=docker/dockerfile:1
# The GPU single-user image: the CPU image's contents with torch's CUDA build.
# torch's wheels bring the CUDA runtime libraries; the NVIDIA container toolkit
# mounts the node's driver into pods that the device plugin gave a GPU
# (NVIDIA_DRIVER_CAPABILITIES below), so the base needs no CUDA of its own.
# Build from the repository root:
#   docker build -f images/singleuser-gpu.Dockerfile -t <registry>/nbplatform/singleuser-gpu:<tag> .

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
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini \
 && rm -rf /var/lib/apt/lists/*
# z2jh's convention: jovyan, uid 1000, group users (100), home /home/jovyan.
RUN useradd --create-home --uid 1000 --gid 100 --shell /bin/bash jovyan
COPY lib /src/lib
COPY jobs /src/jobs
COPY kernels /src/kernels
COPY --from=labext /wheels /wheels
RUN pip install --no-cache-dir 'torch==2.13.0' \
 && pip install --no-cache-dir '/src/lib[all]' /src/jobs /wheels/*.whl 'jupyterhub>=6.1,<7' \
 && for k in /src/kernels/nbplatform-cpu /src/kernels/nbplatform-gpu; do \
      jupyter kernelspec install "$k" --sys-prefix --replace; done \
 && jupyter labextension disable --level=sys_prefix "@jupyterlab/apputils-extension:announcements"
USER 1000
WORKDIR /home/jovyan
EXPOSE 8888
ENTRYPOINT ["tini", "--"]
CMD ["jupyterhub-singleuser"]
