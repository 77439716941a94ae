# The function's image. `fn build` and `fn deploy` use this file whenever it exists;
# delete it to fall back to fn's own `runtime: python` build. See docs/image.md.

# Build stage: `python -m local_runtime.layout /` is what `make layout DEST=...` runs. It
# installs requirements.txt, keeps only the modules the function can import, byte-compiles
# them, and fails if any import the function names does not resolve.
FROM fnproject/python:3.11-dev AS build
WORKDIR /src
COPY requirements.txt func.py func.yaml ./
COPY backup_copier/ backup_copier/
COPY local_runtime/__init__.py local_runtime/fn_build.py local_runtime/
COPY local_runtime/layout/ local_runtime/layout/
RUN python3.11 -m local_runtime.layout / && chmod -R a+rX,go-w /python /function

# Run stage: /python and /function, owned by root and read-only to the user that runs them.
FROM fnproject/python:3.11
# OCI Functions runs custom images as user and group fn, uid and gid 1000; the base image may lack them.
RUN (getent group fn >/dev/null || groupadd --system --gid 1000 fn) && \
    (id -u fn >/dev/null 2>&1 || useradd --system --uid 1000 --gid 1000 --no-create-home fn)
COPY --from=build /python /python
COPY --from=build /function /function
ENV PYTHONPATH=/function:/python
WORKDIR /function
USER 1000:1000
# As func.yaml's entrypoint.
ENTRYPOINT ["/python/bin/fdk", "/function/func.py", "handler"]
