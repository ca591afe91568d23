# ghcr.io/okami/okami-client:<version>: stand-in for the OKAMI app (its code is not public), see
# README.md in this directory. One image per requirements-<version>.txt; the key is this
# directory (Containerfile, app, requirement pins).

build_okami_client() {
  local name="$1" key="$2" archive="$3" version
  version="${name#okami-client-}"
  img_bud "$name" "$key" "$archive" "$IMAGES_DIR/client" "$IMAGES_DIR/client/Containerfile" \
    --build-arg "CLIENT_VERSION=$version" --build-arg "REQUIREMENTS=requirements-$version.txt"
}

image_define okami-client-1.0.0 build_okami_client "ghcr.io/okami/okami-client:1.0.0" debian
