# ghcr.io/okami/okami-client:<version>: stand-in for the OKAMI app (its code is not public), see
# README.md in this directory. One image per requirements-<version>.txt; an image's key is the
# Containerfile, this file, the app and its own requirements file.

build_okami_client() {
  local name="$1" key="$2" archive="$3" version
  version="${name#okami-client-}"
  img_bud "$name" "$key" "$archive" "$IMAGES_DIR/client" "$IMAGES_DIR/client/Containerfile" \
    --build-arg "CLIENT_VERSION=$version" --build-arg "REQUIREMENTS=requirements-$version.txt"
}

for _v in 1.0.0 2.0.0; do
  image_define "okami-client-$_v" build_okami_client "ghcr.io/okami/okami-client:$_v" debian
  image_inputs "okami-client-$_v" "$IMAGES_DIR/client/Containerfile" "$IMAGES_DIR/client/image.sh" \
    "$IMAGES_DIR/client/app" "$IMAGES_DIR/client/requirements-$_v.txt"
done
unset _v
