package main

// `kubectl wi probe` works in any pod, also in an image with no CA files: the fallback roots
// (Mozilla's public roots, embedded) are what it trusts when the filesystem offers none, as
// wi-probe does in the probe image (cmd/wi-probe, where the test of this bundle lives).
import _ "golang.org/x/crypto/x509roots/fallback"
