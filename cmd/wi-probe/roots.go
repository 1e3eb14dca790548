package main

// The probe image has no CA files: the fallback roots (Mozilla's public roots, embedded) are
// what the probe trusts when the filesystem offers none, so TLS to sts.<region>.amazonaws.com
// verifies. verify --ca-bundle adds private CAs on top.
import _ "golang.org/x/crypto/x509roots/fallback"
