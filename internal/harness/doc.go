// Package harness boots a throw-away Debian 12, 13 or sid under
// systemd-nspawn (Options.Release; $PFI_TEST_RELEASE for a whole run) so that
// end-to-end tests can exercise the generator, the unit template and the
// postmulti shim against real systemd as PID 1 and real Postfix.
//
// The pieces, in the order a test meets them:
//
//   - Require fails the test loudly when a prerequisite is missing (root,
//     systemd-nspawn, nsenter, debootstrap, overlayfs) and skips it only
//     under -short.
//   - Tree (TreeOf for a given release) returns a cached root tree under
//     /var/cache/pfi-test/ (debian12-, debian13- or sid-<key>), named by a
//     hash of everything that defines its contents (suite,
//     variant, package list, provisioning). A missing tree is built with
//     debootstrap from the mirror in the machine's own apt sources (read at
//     run time, never stored in the repository), in a temporary directory
//     that is renamed into place only once complete. An flock on the cache
//     directory keeps concurrent test processes from building twice.
//   - Boot starts the container on a fresh copy-on-write layer over that
//     tree, waits until systemd's state is running or degraded (for as
//     long as its job queue keeps moving: Options.BootTimeout bounds a
//     stall, so that a boot slowed by a loaded machine still comes up and
//     a hung one fails naming its jobs), and registers a cleanup that dumps the journal when the
//     test failed and then always tears the container down: systemctl
//     poweroff inside, reap systemd-nspawn by PID with a timeout, kill only
//     that PID (and the container's own PID 1) if it hangs, remove the
//     temporary layer. By default the writable layer is an overlayfs the
//     harness mounts itself inside a private mount namespace that exists only
//     for systemd-nspawn, so nothing is ever mounted on the host and the
//     layer survives a reboot of the container (Container.Reboot);
//     Options.Volatile selects systemd-nspawn's own --volatile=overlay
//     instead. systemd-nspawn runs as PID 1 of its own PID namespace, with
//     PR_SET_PDEATHSIG: if the test process dies without cleaning up (a go
//     test -timeout panic), the kernel takes nspawn and the whole container
//     with it, and the next Boot sweeps the dead process's temporary
//     directories.
//   - Every container runs in cgroups of its own (a per-container child of
//     the test process's cgroup in each hierarchy nspawn uses, removed at
//     teardown), so that containers of test packages running at once never
//     share nspawn's payload cgroup and remove each other's unit cgroups.
//     Inside, systemd gets the unified hierarchy (cgroup v2 only), Debian
//     12's default, even on a host with the hybrid layout.
//   - Options.Files are written into the writable layer before the first
//     boot, as a package would have installed them, so that systemd runs
//     the generator at boot; Container.WriteFile installs files later.
//     Options.Kmsg gives the container a /dev/kmsg the harness reads
//     (nspawn provides none, and systemd runs generators with stderr on
//     /dev/null).
//   - Container.Run executes a command inside with nsenter, passing the
//     arguments through exec, never through a shell; Container.Bash is the
//     explicit way to run a script with bash -c when a test wants one.
//
// RunTestsIn runs the calling package's own tests inside a container of a
// given release, against that release's postconf and postmulti (the
// per-release differential suites).
//
// systemd is never booted against the host's own root: Boot refuses a tree
// that resolves to "/".
package harness
