package appsdk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const selfPID = 9999

// sdkLine is an SDK as a comparable line: name module version path pid process.
func sdkLine(s SDK) string {
	return fmt.Sprintf("%s %s %s %s %d %s", s.Name, s.Module, s.Version, s.Path, s.PID, s.Process)
}

func sdkLines(sdks []SDK) []string {
	var out []string
	for _, s := range sdks {
		out = append(out, sdkLine(s))
	}
	slices.Sort(out)
	return out
}

func TestScanProcessesEcosystems(t *testing.T) {
	tests := []struct {
		name  string
		procs []fakeProcess
		want  []SDK
	}{
		{
			name: "python pip dist-info and Debian egg-info",
			procs: []fakeProcess{{pid: 10, exe: "/usr/local/bin/python3.12", cwd: "/srv/api", args: []string{"python3", "main.py"}, files: map[string]string{
				"srv/api/main.py": "import boto3",
				"usr/local/lib/python3.12/site-packages/botocore-1.34.40.dist-info/METADATA": metadata("botocore", "1.34.40"),
				"usr/local/lib/python3.12/site-packages/boto3-1.34.40.dist-info/METADATA":    metadata("boto3", "1.34.40"),
				"usr/local/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA":  metadata("requests", "2.31.0"),
				"usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/PKG-INFO":           metadata("botocore", "1.29.27"),
				"usr/lib/python3/dist-packages/awscli-1.16.0.egg-info":                       metadata("awscli", "1.16.0"),
				"usr/lib/python3/dist-packages/botocore/__init__.py":                         "__version__ = '9.9.9'",
				"usr/lib/python3.11/site-packages/boto3-1.9.0-py3.11.egg/EGG-INFO/PKG-INFO":  metadata("boto3", "1.9.0"),
				// The standard library is not walked, only site-packages and dist-packages.
				"usr/local/lib/python3.12/encodings/botocore-1.0.0.dist-info/METADATA": metadata("botocore", "1.0.0"),
			}}},
			want: []SDK{
				{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.34.40", Path: "/usr/local/lib/python3.12/site-packages/botocore-1.34.40.dist-info/METADATA", PID: 10, Process: "python3.12"},
				{Name: SDKBoto3, Module: ModuleBoto3, Version: "1.34.40", Path: "/usr/local/lib/python3.12/site-packages/boto3-1.34.40.dist-info/METADATA", PID: 10, Process: "python3.12"},
				{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.29.27", Path: "/usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/PKG-INFO", PID: 10, Process: "python3.12"},
				{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: "1.16.0", Path: "/usr/lib/python3/dist-packages/awscli-1.16.0.egg-info", PID: 10, Process: "python3.12"},
				{Name: SDKBoto3, Module: ModuleBoto3, Version: "1.9.0", Path: "/usr/lib/python3.11/site-packages/boto3-1.9.0-py3.11.egg/EGG-INFO/PKG-INFO", PID: 10, Process: "python3.12"},
			},
		},
		{
			name: "python from the interpreter's prefix and a function's own directory",
			procs: []fakeProcess{{pid: 11, exe: "/usr/local/pyenv/bin/python3", cwd: "/", args: []string{"python3", "-m", "worker"}, files: map[string]string{
				"usr/local/pyenv/lib/python3.11/site-packages/botocore-1.34.41.dist-info/METADATA": metadata("botocore", "1.34.41"),
				"var/task/botocore-1.31.0.dist-info/METADATA":                                      metadata("botocore", "1.31.0"),
			}}},
			want: []SDK{
				{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.34.41", Path: "/usr/local/pyenv/lib/python3.11/site-packages/botocore-1.34.41.dist-info/METADATA", PID: 11, Process: "python3"},
				{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.31.0", Path: "/var/task/botocore-1.31.0.dist-info/METADATA", PID: 11, Process: "python3"},
			},
		},
		{
			name: "node npm, nested and pnpm packages",
			procs: []fakeProcess{{pid: 20, exe: "/usr/local/bin/node", cwd: "/usr/src/app", args: []string{"node", "server.js"}, files: map[string]string{
				"usr/src/app/server.js":                                                                                                            "require('aws-sdk')",
				"usr/src/app/node_modules/aws-sdk/package.json":                                                                                    packageJSON("aws-sdk", "2.1549.0"),
				"usr/src/app/node_modules/@aws-sdk/credential-provider-node/package.json":                                                          packageJSON("@aws-sdk/credential-provider-node", "3.490.0"),
				"usr/src/app/node_modules/@aws-sdk/client-s3/package.json":                                                                         packageJSON("@aws-sdk/client-s3", "3.490.0"),
				"usr/src/app/node_modules/old-lib/node_modules/aws-sdk/package.json":                                                               packageJSON("aws-sdk", "2.500.0"),
				"usr/src/app/node_modules/@scope/tool/node_modules/aws-sdk/package.json":                                                           packageJSON("aws-sdk", "2.600.0"),
				"usr/src/app/node_modules/fake/node_modules/aws-sdk/package.json":                                                                  packageJSON("not-the-sdk", "1.0.0"),
				"srv/web/node_modules/.pnpm/@aws-sdk+credential-provider-node@3.503.1/node_modules/@aws-sdk/credential-provider-node/package.json": packageJSON("@aws-sdk/credential-provider-node", "3.503.1"),
				"srv/web/node_modules/@aws-sdk/credential-provider-node":                                                                           "->../.pnpm/@aws-sdk+credential-provider-node@3.503.1/node_modules/@aws-sdk/credential-provider-node",
			}}},
			want: []SDK{
				{Name: SDKJS, Module: ModuleJS, Version: "2.1549.0", Path: "/usr/src/app/node_modules/aws-sdk/package.json", PID: 20, Process: "node"},
				{Name: SDKJSV3, Module: ModuleJSV3Chain, Version: "3.490.0", Path: "/usr/src/app/node_modules/@aws-sdk/credential-provider-node/package.json", PID: 20, Process: "node"},
				{Name: SDKJS, Module: ModuleJS, Version: "2.500.0", Path: "/usr/src/app/node_modules/old-lib/node_modules/aws-sdk/package.json", PID: 20, Process: "node"},
				{Name: SDKJS, Module: ModuleJS, Version: "2.600.0", Path: "/usr/src/app/node_modules/@scope/tool/node_modules/aws-sdk/package.json", PID: 20, Process: "node"},
				{Name: SDKJSV3, Module: ModuleJSV3Chain, Version: "3.503.1", Path: "/srv/web/node_modules/.pnpm/@aws-sdk+credential-provider-node@3.503.1/node_modules/@aws-sdk/credential-provider-node/package.json", PID: 20, Process: "node"},
			},
		},
		{
			name: "java jars, a Spring Boot fat jar, a shaded jar, the v2 bundle and a class path",
			procs: []fakeProcess{{pid: 30, exe: "/usr/lib/jvm/java-17/bin/java", cwd: "/", args: []string{"java", "-cp", "/deploy/lib/*:/deploy/classes", "-jar", "/opt/svc/app.jar"}, files: map[string]string{
				"opt/svc/app.jar": zipOf(t,
					"META-INF/MANIFEST.MF", "Main-Class: org.springframework.boot.loader.JarLauncher\n",
					"BOOT-INF/lib/auth-2.20.0.jar", zipOf(t, pomJavaV2, pom("software.amazon.awssdk", "auth", "2.20.0"), "software/amazon/awssdk/auth/credentials/ContainerCredentialsProvider.class", "x"),
					"BOOT-INF/lib/aws-java-sdk-core-1.11.0.jar", zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.11.0")),
					"BOOT-INF/lib/auth-0.1.jar", zipOf(t, "META-INF/maven/org.example/auth/pom.properties", pom("org.example", "auth", "0.1")),
					"BOOT-INF/lib/guava-32.0.jar", "not opened: not an SDK's name",
				),
				"opt/svc/shaded.jar":                              zipOf(t, pomJavaV2, pom("software.amazon.awssdk", "auth", "2.21.30"), "com/example/Main.class", "x"),
				"opt/svc/lib/bundle-2.25.0.jar":                   zipOf(t, "software/amazon/awssdk/auth/credentials/DefaultCredentialsProvider.class", "x"),
				"opt/svc/lib/bundle-1.0.0.jar":                    zipOf(t, "org/other/Thing.class", "x"),
				"deploy/lib/aws-java-sdk-core-1.12.746.jar":       zipOf(t, "com/amazonaws/auth/AWSCredentials.class", "x"),
				"usr/share/java/aws-java-sdk-bundle-1.12.600.jar": zipOf(t, "com/amazonaws/auth/AWSCredentials.class", "x"),
			}}},
			want: []SDK{
				{Name: SDKJavaV2, Module: ModuleJavaV2, Version: "2.20.0", Path: "/opt/svc/app.jar!/BOOT-INF/lib/auth-2.20.0.jar", PID: 30, Process: "java"},
				{Name: SDKJava, Module: ModuleJava, Version: "1.11.0", Path: "/opt/svc/app.jar!/BOOT-INF/lib/aws-java-sdk-core-1.11.0.jar", PID: 30, Process: "java"},
				{Name: SDKJavaV2, Module: ModuleJavaV2, Version: "2.21.30", Path: "/opt/svc/shaded.jar", PID: 30, Process: "java"},
				{Name: SDKJavaV2, Module: ModuleJavaV2, Version: "2.25.0", Path: "/opt/svc/lib/bundle-2.25.0.jar", PID: 30, Process: "java"},
				{Name: SDKJava, Module: ModuleJava, Version: "1.12.746", Path: "/deploy/lib/aws-java-sdk-core-1.12.746.jar", PID: 30, Process: "java"},
				{Name: SDKJava, Module: ModuleJava, Version: "1.12.600", Path: "/usr/share/java/aws-java-sdk-bundle-1.12.600.jar", PID: 30, Process: "java"},
			},
		},
		{
			name: "dotnet deps.json beside the app",
			procs: []fakeProcess{{pid: 40, exe: "/usr/share/dotnet/dotnet", cwd: "/", args: []string{"dotnet", "/srv/orders/Orders.dll"}, files: map[string]string{
				"srv/orders/Orders.dll": "MZ",
				"srv/orders/Orders.deps.json": `{"runtimeTarget": {"name": ".NETCoreApp,Version=v8.0"},
				  "targets": {".NETCoreApp,Version=v8.0": {"AWSSDK.Core/3.7.300.1": {"runtime": {"lib/net8.0/AWSSDK.Core.dll": {}}}}},
				  "libraries": {"Orders/1.0.0": {"type": "project"}, "AWSSDK.Core/3.7.300.1": {"type": "package", "sha512": "x"}, "AWSSDK.SecurityToken/3.7.300.1": {"type": "package"}}}`,
			}}},
			want: []SDK{
				{Name: SDKNet, Module: ModuleNet, Version: "3.7.300.1", Path: "/srv/orders/Orders.deps.json", PID: 40, Process: "dotnet"},
			},
		},
		{
			name: "ruby gems and their specifications, once per GEM_HOME",
			procs: []fakeProcess{{pid: 50, exe: "/usr/local/bin/ruby", cwd: "/", args: []string{"ruby", "/srv/app/app.rb"}, files: map[string]string{
				"srv/app/app.rb": "require 'aws-sdk-s3'",
				"usr/local/bundle/gems/aws-sdk-core-3.187.0/lib/aws-sdk-core.rb":            "x",
				"usr/local/bundle/specifications/aws-sdk-core-3.187.0.gemspec":              "s.version = \"3.187.0\"",
				"usr/local/bundle/specifications/aws-sdk-s3-1.140.0.gemspec":                "x",
				"usr/local/lib/ruby/gems/3.2.0/specifications/aws-sdk-core-3.190.0.gemspec": "x",
			}}},
			want: []SDK{
				{Name: SDKRuby, Module: ModuleRuby, Version: "3.187.0", Path: "/usr/local/bundle/gems/aws-sdk-core-3.187.0", PID: 50, Process: "ruby"},
				{Name: SDKRuby, Module: ModuleRuby, Version: "3.190.0", Path: "/usr/local/lib/ruby/gems/3.2.0/specifications/aws-sdk-core-3.190.0.gemspec", PID: 50, Process: "ruby"},
			},
		},
		{
			name: "php composer 2 and composer 1",
			procs: []fakeProcess{{pid: 60, exe: "/usr/local/sbin/php-fpm", cwd: "/var/www/html", args: []string{"php-fpm: master process"}, files: map[string]string{
				"var/www/html/vendor/composer/installed.json":     `{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.8.1"}, {"name": "aws/aws-sdk-php", "version": "3.287.0"}], "dev": true}`,
				"var/www/html/vendor/aws/aws-sdk-php/src/Sdk.php": "const VERSION = '9.9.9';",
				"srv/legacy/vendor/composer/installed.json":       `[{"name": "aws/aws-sdk-php", "version": "3.110.7"}]`,
			}}},
			want: []SDK{
				{Name: SDKPHP, Module: ModulePHP, Version: "3.287.0", Path: "/var/www/html/vendor/composer/installed.json", PID: 60, Process: "php-fpm"},
				{Name: SDKPHP, Module: ModulePHP, Version: "3.110.7", Path: "/srv/legacy/vendor/composer/installed.json", PID: 60, Process: "php-fpm"},
			},
		},
		{
			name: "aws cli v2 installer: the current version only",
			procs: []fakeProcess{{pid: 70, exe: "/bin/sh", cwd: "/", args: []string{"/bin/sh", "-c", "sleep 1d"}, files: map[string]string{
				"usr/local/aws-cli/v2/2.9.0/dist/aws":  "old",
				"usr/local/aws-cli/v2/2.15.0/dist/aws": "new",
				"usr/local/aws-cli/v2/current":         "->/usr/local/aws-cli/v2/2.15.0",
			}}},
			want: []SDK{
				{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: "2.15.0", Path: "/usr/local/aws-cli/v2/2.15.0", PID: 70, Process: "sh"},
			},
		},
		{
			name: "symlinks resolve inside the app's root",
			procs: []fakeProcess{{pid: 80, exe: "/usr/local/bin/node", cwd: "/app", args: []string{"node", "index.js"}, files: map[string]string{
				"app":                                     "->/data/releases/v2", // the working directory itself is a link
				"data/releases/v2/index.js":               "x",
				"data/releases/v2/node_modules/aws-sdk":   "->/shared/aws-sdk",
				"shared/aws-sdk/package.json":             packageJSON("aws-sdk", "2.1550.0"),
				"data/releases/v2/lib/sdk.jar":            "->../../../opt/jars/aws-java-sdk-core-1.12.782.jar",
				"opt/jars/aws-java-sdk-core-1.12.782.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.12.782")),
			}}},
			want: []SDK{
				{Name: SDKJS, Module: ModuleJS, Version: "2.1550.0", Path: "/shared/aws-sdk/package.json", PID: 80, Process: "node"},
				{Name: SDKJava, Module: ModuleJava, Version: "1.12.782", Path: "/opt/jars/aws-java-sdk-core-1.12.782.jar", PID: 80, Process: "node"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			procDir := fakeProc(t, tt.procs...)
			got := ScanProcesses(t.Context(), procDir, selfPID, Limits{})
			if g, w := sdkLines(got.SDKs), sdkLines(tt.want); !slices.Equal(g, w) {
				t.Errorf("SDKs:\ngot  %s\nwant %s", strings.Join(g, "\n     "), strings.Join(w, "\n     "))
			}
			if len(got.Skipped) != 0 {
				t.Errorf("Skipped = %+v, want none", got.Skipped)
			}
		})
	}
}

// TestScanProcessesSymlinkOutOfRoot proves an absolute link is read in the app's root: the
// same path on the scanner's side holds an SDK the app does not have.
func TestScanProcessesSymlinkOutOfRoot(t *testing.T) {
	host := t.TempDir()
	layout(t, host, map[string]string{"aws-sdk/package.json": packageJSON("aws-sdk", "9.9.9")})
	procDir := fakeProc(t, fakeProcess{pid: 5, exe: "/usr/local/bin/node", cwd: "/app", files: map[string]string{
		"app/node_modules/aws-sdk": "->" + host + "/aws-sdk",
		"app/lib/a.jar":            "->" + host + "/aws-sdk/package.json",
	}})
	got := ScanProcesses(t.Context(), procDir, selfPID, Limits{})
	if len(got.SDKs) != 0 {
		t.Errorf("SDKs = %v, want none: the links point outside the app's root", sdkLines(got.SDKs))
	}
}

func TestScanProcessesSkips(t *testing.T) {
	past := time.Now().Add(-time.Second)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		procs     []fakeProcess
		lim       Limits
		want      []SDK
		wantSkips []Skip // Reason is a substring
	}{
		{
			name:      "no process but the scanner",
			procs:     []fakeProcess{{pid: selfPID, exe: "/kubectl-wi", files: map[string]string{}}},
			wantSkips: []Skip{{Reason: "no process to scan but the scanner itself"}},
		},
		{
			name: "kernel threads, pause and the scanner's own container are not the app",
			procs: []fakeProcess{
				{pid: 1, exe: "/pause", files: map[string]string{"app/node_modules/aws-sdk/package.json": packageJSON("aws-sdk", "2.1.0")}},
				{pid: 2, files: map[string]string{}}, // no exe: a kernel thread
				{pid: selfPID, exe: "/kubectl-wi", files: map[string]string{"app/node_modules/aws-sdk/package.json": packageJSON("aws-sdk", "2.2.0")}},
				{pid: 3, exe: "/bin/sh", rootLink: selfPID},
			},
			wantSkips: []Skip{{Reason: "no process to scan but the scanner itself"}},
		},
		{
			name: "processes of one container share their findings",
			procs: []fakeProcess{
				{pid: 7, exe: "/usr/local/bin/python3", files: map[string]string{"app/botocore-1.34.41.dist-info/METADATA": metadata("botocore", "1.34.41")}},
				{pid: 8, exe: "/usr/local/bin/python3", rootLink: 7},
			},
			want: []SDK{{Name: SDKBotocore, Module: ModuleBotocore, Version: "1.34.41", Path: "/app/botocore-1.34.41.dist-info/METADATA", PID: 7, Process: "python3"}},
		},
		{
			name: "a root that cannot be opened",
			procs: []fakeProcess{
				{pid: 12, exe: "/app/server", rootFile: true},
			},
			wantSkips: []Skip{{PID: 12, Path: "/12/root", Reason: "not a directory"}},
		},
		{
			name: "a symlink loop",
			procs: []fakeProcess{{pid: 13, exe: "/app/server", files: map[string]string{
				"app/a":                                 "->b",
				"app/b":                                 "->a",
				"app/node_modules/aws-sdk/package.json": packageJSON("aws-sdk", "2.1550.0"),
			}}},
			want:      []SDK{{Name: SDKJS, Module: ModuleJS, Version: "2.1550.0", Path: "/app/node_modules/aws-sdk/package.json", PID: 13, Process: "server"}},
			wantSkips: []Skip{{PID: 13, Path: "/app/a", Reason: "too many levels of symbolic links"}, {PID: 13, Path: "/app/b", Reason: "too many levels of symbolic links"}},
		},
		{
			name: "files that do not parse",
			procs: []fakeProcess{{pid: 14, exe: "/app/server", files: map[string]string{
				"app/lib/broken.jar":                    "not a zip",
				"app/App.deps.json":                     "{",
				"app/node_modules/aws-sdk/package.json": "{",
				"app/vendor/composer/installed.json":    "[{",
			}}},
			wantSkips: []Skip{
				{PID: 14, Path: "/app/App.deps.json", Reason: "deps.json does not parse"},
				{PID: 14, Path: "/app/lib/broken.jar", Reason: "not a readable archive"},
				{PID: 14, Path: "/app/node_modules/aws-sdk/package.json", Reason: "package.json does not parse"},
				{PID: 14, Path: "/app/vendor/composer/installed.json", Reason: "installed.json does not parse"},
			},
		},
		{
			name: "nested jars too large to read: the 1.x SDK's own name is trusted",
			procs: []fakeProcess{{pid: 20, exe: "/app/server", files: map[string]string{
				"app/v1.jar": zipClaiming(t, "BOOT-INF/lib/aws-java-sdk-bundle-1.12.500.jar", 400<<20),
				"app/v2.jar": zipClaiming(t, "BOOT-INF/lib/bundle-2.20.0.jar", 600<<20),
			}}},
			want:      []SDK{{Name: SDKJava, Module: ModuleJava, Version: "1.12.500", Path: "/app/v1.jar!/BOOT-INF/lib/aws-java-sdk-bundle-1.12.500.jar", PID: 20, Process: "server"}},
			wantSkips: []Skip{{PID: 20, Path: "/app/v2.jar!/BOOT-INF/lib/bundle-2.20.0.jar", Reason: "nested archive larger than 32 MiB"}},
		},
		{
			name: "a jar the command line names and a walk meets is read once",
			procs: []fakeProcess{{pid: 21, exe: "/usr/bin/java", args: []string{"java", "-jar", "/opt/app/broken.jar"}, files: map[string]string{
				"opt/app/broken.jar": "not a zip",
				"app/lib":            "->/opt/app",
			}}},
			wantSkips: []Skip{{PID: 21, Path: "/opt/app/broken.jar", Reason: "not a readable archive"}},
		},
		{
			name: "depth limit",
			lim:  Limits{MaxDepth: 2},
			procs: []fakeProcess{{pid: 15, exe: "/app/server", files: map[string]string{
				"app/a/aws-java-sdk-core-1.12.0.jar":     zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.12.0")),
				"app/a/b/c/aws-java-sdk-core-1.11.0.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.11.0")),
			}}},
			want:      []SDK{{Name: SDKJava, Module: ModuleJava, Version: "1.12.0", Path: "/app/a/aws-java-sdk-core-1.12.0.jar", PID: 15, Process: "server"}},
			wantSkips: []Skip{{PID: 15, Path: "/app/a/b/c", Reason: "depth limit of 2 reached below /app"}},
		},
		{
			name: "file limit",
			lim:  Limits{MaxFiles: 3},
			procs: []fakeProcess{{pid: 16, exe: "/app/server", files: map[string]string{
				"app/1/x": "", "app/2/x": "", "app/3/x": "", "app/4/x": "",
				"app/5/botocore-1.34.41.dist-info/METADATA": metadata("botocore", "1.34.41"),
			}}},
			wantSkips: []Skip{{PID: 16, Reason: "limit of 3 files was reached"}},
		},
		{
			name: "every process's own places come before any well-known directory",
			lim:  Limits{MaxFiles: 40},
			procs: []fakeProcess{
				{pid: 22, exe: "/usr/bin/server", cwd: "/", files: manyFiles("opt/data", 60)},
				{pid: 23, exe: "/usr/bin/java", cwd: "/work", files: map[string]string{
					"work/lib/aws-java-sdk-core-1.12.0.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.12.0")),
				}},
			},
			want:      []SDK{{Name: SDKJava, Module: ModuleJava, Version: "1.12.0", Path: "/work/lib/aws-java-sdk-core-1.12.0.jar", PID: 23, Process: "java"}},
			wantSkips: []Skip{{PID: 22, Path: "/opt/data", Reason: "limit of 40 files was reached"}},
		},
		{
			name: "caches of package managers and toolchains are not the app's",
			procs: []fakeProcess{{pid: 24, exe: "/usr/bin/server", cwd: "/", files: map[string]string{
				"root/go/pkg/mod/github.com/x/y@v1.0.0/aws-java-sdk-core-1.0.0.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.0.0")),
				"root/.gradle/caches/modules-2/aws-java-sdk-core-1.0.1.jar":         zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.0.1")),
				"home/dev/.m2/repository/com/amazonaws/aws-java-sdk-core-1.0.2.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.0.2")),
				"home/dev/.cache/pip/botocore-1.0.0.dist-info/METADATA":             metadata("botocore", "1.0.0"),
				"home/dev/app/pkg/lib/aws-java-sdk-core-1.12.0.jar":                 zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.12.0")),
			}}},
			want: []SDK{{Name: SDKJava, Module: ModuleJava, Version: "1.12.0", Path: "/home/dev/app/pkg/lib/aws-java-sdk-core-1.12.0.jar", PID: 24, Process: "server"}},
		},
		{
			name: "the root and the system bin directories are no place to walk",
			procs: []fakeProcess{{pid: 25, exe: "/bin/sh", cwd: "/", args: []string{"/bin/sh", "/entrypoint.sh", "/", "/usr/bin/env"}, files: map[string]string{
				"entrypoint.sh":                       "exec java -jar /srv/app.jar",
				"data/aws-java-sdk-core-1.0.0.jar":    zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.0.0")),
				"usr/bin/env":                         "x",
				"usr/bin/aws-java-sdk-core-1.0.1.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.0.1")),
				"dev/shm/aws-java-sdk-core-1.0.2.jar": zipOf(t, pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.0.2")),
			}}},
		},
		{
			name: "deadline",
			lim:  Limits{Deadline: past},
			procs: []fakeProcess{
				{pid: 17, exe: "/app/server", files: map[string]string{"app/botocore-1.34.41.dist-info/METADATA": metadata("botocore", "1.34.41")}},
				{pid: 18, exe: "/app/server", files: map[string]string{}},
			},
			wantSkips: []Skip{{PID: 17, Reason: "not scanned: the scan's deadline was reached"}, {PID: 18, Reason: "not scanned: the scan's deadline was reached"}},
		},
		{
			name:      "cancelled",
			ctx:       cancelled,
			procs:     []fakeProcess{{pid: 19, exe: "/app/server", files: map[string]string{"app/botocore-1.34.41.dist-info/METADATA": metadata("botocore", "1.34.41")}}},
			wantSkips: []Skip{{PID: 19, Reason: "the scan was cancelled"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			procDir := fakeProc(t, tt.procs...)
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			got := ScanProcesses(ctx, procDir, selfPID, tt.lim)
			if g, w := sdkLines(got.SDKs), sdkLines(tt.want); !slices.Equal(g, w) {
				t.Errorf("SDKs:\ngot  %s\nwant %s", strings.Join(g, "\n     "), strings.Join(w, "\n     "))
			}
			if len(got.Skipped) != len(tt.wantSkips) {
				t.Fatalf("Skipped = %+v, want %d like %+v", got.Skipped, len(tt.wantSkips), tt.wantSkips)
			}
			for i, w := range tt.wantSkips {
				g := got.Skipped[i]
				if g.PID != w.PID || !strings.HasSuffix(g.Path, w.Path) || !strings.Contains(g.Reason, w.Reason) {
					t.Errorf("Skipped[%d] = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// manyFiles lays out n empty files in dir.
func manyFiles(dir string, n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("%s/f%03d", dir, i)] = ""
	}
	return files
}

func TestUnreadable(t *testing.T) {
	me := 1000
	tests := []struct {
		name    string
		err     error
		procUID int
		want    string
	}{
		{name: "another user", err: &os.PathError{Op: "open", Path: "/proc/7/root", Err: fs.ErrPermission}, procUID: me + 1,
			want: fmt.Sprintf("permission denied: the process runs as uid %d and the scanner as uid %d; run the scanner as uid %d", me+1, me, me+1)},
		{name: "same user, still denied", err: &os.PathError{Op: "open", Path: "/proc/7/root", Err: fs.ErrPermission}, procUID: me,
			want: "permission denied: open /proc/7/root: permission denied"},
		{name: "uid unknown", err: &os.PathError{Op: "open", Path: "/proc/7/root", Err: fs.ErrPermission}, procUID: -1,
			want: "permission denied: open /proc/7/root: permission denied"},
		{name: "other error", err: errors.New("input/output error"), procUID: me + 1, want: "input/output error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unreadableAs(tt.err, tt.procUID, me); got != tt.want {
				t.Errorf("unreadableAs() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProcessUID(t *testing.T) {
	procDir := fakeProc(t, fakeProcess{pid: 4, exe: "/x", uid: 1234, files: map[string]string{}})
	if got := processUID(filepath.Join(procDir, "4")); got != 1234 {
		t.Errorf("processUID = %d, want 1234", got)
	}
	if got := processUID(filepath.Join(procDir, "5")); got != -1 {
		t.Errorf("processUID of a missing process = %d, want -1", got)
	}
}

func TestCommandLinePaths(t *testing.T) {
	tests := []struct {
		name string
		args []string
		cwd  string
		want []string
	}{
		{name: "python script", args: []string{"python3", "-u", "app/main.py"}, cwd: "/srv", want: []string{"/srv/app/main.py"}},
		{name: "java jar and class path", args: []string{"java", "-Xmx1g", "-cp", "lib/*:/opt/classes", "-jar", "/opt/app.jar"}, cwd: "/srv",
			want: []string{"/srv/lib", "/opt/classes", "/opt/app.jar"}},
		{name: "dotnet assembly", args: []string{"dotnet", "Orders.dll"}, cwd: "/app", want: []string{"/app/Orders.dll"}},
		{name: "relative without a working directory", args: []string{"node", "server.js"}, want: nil},
		{name: "words are not paths", args: []string{"php-fpm:", "master", "process"}, cwd: "/", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commandLinePaths(tt.args, tt.cwd); !slices.Equal(got, tt.want) {
				t.Errorf("commandLinePaths() = %q, want %q", got, tt.want)
			}
		})
	}
}
