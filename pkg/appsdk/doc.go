// Package appsdk finds the AWS SDKs an app's processes carry, with their versions, by reading
// the app's files, and judges each against the minimum AWS documents for the identity the
// pod uses: IRSA (web identity) or EKS Pod Identity (container credentials from the agent).
//
// It runs in an ephemeral container that shares the app container's process namespace, and
// it imports the standard library only, so the probe binary stays small.
//
// # What it reads
//
// ScanProcesses looks at every process in /proc but its own, leaving out kernel threads, the
// pod's pause process and the processes of the scanner's own container (the same root):
//
//   - /proc/<pid>/exe: the Go build info (debug/buildinfo). It lists github.com/aws/aws-sdk-go
//     and, of github.com/aws/aws-sdk-go-v2, the config and credentials modules, which carry
//     the credential chain (or the core module, when the binary links neither).
//   - /proc/<pid>/cmdline and /proc/<pid>/cwd: where to look first. That is the scripts, jars
//     and assemblies the command names, a JVM's class path, the working directory, the
//     executable's directory (unless a system bin directory), and an interpreter's
//     <prefix>/lib (a virtualenv's, pyenv's).
//   - /proc/<pid>/root: the app's files there, then in the well-known directories /app, /srv,
//     /opt, /usr/src/app, /var/task, /var/www, /home, /root, /usr/local/lib, /usr/local/bundle,
//     /usr/local/aws-cli, /usr/share/java, /var/lib/gems, and the python*, ruby and
//     node_modules entries of /usr/lib and /usr/lib64. Every process's own places are searched
//     before any well-known directory, so one large image cannot use up the others' limits.
//
// The root directory and the system bin directories are never walked, nor are version
// control directories, the caches of package managers and toolchains (~/.cache, ~/.npm,
// ~/.m2, ~/.gradle, ~/.nuget, ~/.cargo, Go's pkg/mod, ...), whose contents the app does not
// load, nor /dev, /proc and /sys. A symlinked directory is walked once, wherever it is met.
//
// In those places it reads:
//
//   - Python: the metadata of botocore, boto3 and awscli. That is <name>-<version>.dist-info/METADATA
//     (pip), .egg-info (a directory holding PKG-INFO, as Debian's python3-botocore ships in
//     /usr/lib/python3/dist-packages, or the file itself) and .egg. A site-packages or
//     dist-packages directory is listed, not walked, and lib/pythonX.Y only for those two.
//   - Node: node_modules/aws-sdk/package.json (v2) and
//     node_modules/@aws-sdk/credential-provider-node/package.json (v3's default credential
//     chain), in nested node_modules and in pnpm's .pnpm store too.
//   - Java: jars, wars and ears, for the SDKs' Maven descriptors
//     META-INF/maven/com.amazonaws/aws-java-sdk-core/pom.properties and
//     META-INF/maven/software.amazon.awssdk/auth/pom.properties, which shaded jars keep. The
//     uber-jars, which strip them, are known by name and classes. SDK jars nested one level
//     deep (Spring Boot's BOOT-INF/lib, a war's WEB-INF/lib) are read too.
//   - .NET: an app's *.deps.json, library AWSSDK.Core/<version>.
//   - Ruby: gems/aws-sdk-core-<version> and specifications/aws-sdk-core-<version>.gemspec.
//   - PHP: vendor/composer/installed.json, package aws/aws-sdk-php.
//   - The AWS CLI v2 installer's <dir>/v2/<version>, the one v2/current links.
//
// It never reads /proc/<pid>/environ, which holds the app's secrets, and reports paths and
// versions only.
//
// Symlinks are resolved within the app's root, as the app resolves them: read through
// /proc/<pid>/root by the kernel, an absolute link would point into the scanner's own
// filesystem. Files are then opened through an os.Root, which refuses any path that leaves
// the root.
//
// # Bounds
//
// Limits bound a scan: MaxDepth directories below each searched place (default 8), MaxFiles
// directory and archive entries in all (default 200,000), and a Deadline (default 5 s from
// the start). Nested jars are read up to 32 MiB, manifests up to 1 MiB, deps.json and
// installed.json up to 32 MiB. What a bound cut off, and what could not be read (a process of
// another user, an unreadable file, a symlink loop, a file that does not parse), is a Skip
// with the reason.
//
// # What it cannot see
//
//   - An SDK built into a file that keeps no record of it: a Go binary without build info, a
//     bundled or minified JavaScript file, a GraalVM native image, a .NET app published
//     without its deps.json, a PyInstaller or zipapp archive.
//   - An SDK loaded from somewhere else: outside the process's root, or from a path set in
//     the environment (PYTHONPATH, NODE_PATH, CLASSPATH, GEM_HOME), which it does not read, or
//     a class path built at run time, when that path is not one of the places above.
//   - The files of a process of another user: /proc opens a process's root and executable
//     only to the same user (or with CAP_SYS_PTRACE).
//   - Which copy a process loaded: it reports what is installed where the process can load it
//     from, so two versions of one SDK may both be reported.
//   - The SDKs for Kotlin, Rust, C++ and PowerShell, whose minimums the guide also lists: it
//     does not look for them. (The table still holds Kotlin's and Rust's Pod Identity
//     minimums, for the app log signatures of their old versions.)
//
// # The minimums
//
// The one table of minimums is read with Minimum and applied by Judge. Its values come from
// the EKS user guide's "Use IRSA with the AWS SDK" and "Use pod identity with the AWS SDK"
// (DocIRSA, DocPodIdentity). A documented release of a modular SDK is mapped to the modules
// that carry the credential chain: Go v2's release-2023-11-14 to config v1.25.0 and
// credentials v1.16.0. For JavaScript v3 the guide's 3.458.0 changed no credential provider,
// and the default chain first reaches the Pod Identity agent in
// @aws-sdk/credential-provider-node 3.503.1, which the table uses and says so. A version that
// does not parse is Unknown, never OK.
//
// The table is also where pkg/applog takes the versions its old-SDK log signatures name, so
// a minimum is written once.
package appsdk
