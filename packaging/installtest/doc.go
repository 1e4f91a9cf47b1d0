// Package installtest proves the Debian package in a booted Debian 12
// container (internal/harness): it builds the .deb with
// scripts/build-packages.sh, installs it with apt beside Debian's postfix,
// runs the border-MTA walk-through exactly as an administrator types it
// (postmulti -e init, -e create, -x postconf -e, -e enable, -p start), sends
// mail through both instances, drives postfix-mta.target, and then checks
// that removing the package gives Debian's generator, template and postmulti
// back (diversions gone, files byte-identical, Debian's units running the
// instances again) and that purging leaves nothing behind.
//
// The test needs root, systemd-nspawn and the cached root tree, like every
// container test; -short skips it.
package installtest
