//! Running the real `orb` binary against real plugin libraries in a throw-away directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The build directory of this test binary's profile (`target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/it-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps")
        .to_path_buf()
}

/// A workspace artifact, which `cargo build --workspace` (run by `scripts/test`) makes.
pub fn artifact(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` before the tests (scripts/test does)",
        path.display()
    );
    path
}

/// The `orb` binary.
pub fn orb_bin() -> PathBuf {
    artifact("orb")
}

/// The mock provider plugin library.
pub fn mock_plugin() -> PathBuf {
    artifact("liborb_provider_mock.so")
}

/// The AWS provider plugin library.
pub fn aws_plugin() -> PathBuf {
    artifact("liborb_provider_aws.so")
}

/// The outcome of one `orb` run.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON; fails the test with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON value ({e}):\n--- stdout\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Fails the test unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A throw-away orb installation: a plugins directory, a work directory and a config file.
pub struct Sandbox {
    dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
}

impl Sandbox {
    /// An empty sandbox.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        for sub in ["plugins", "work", "config"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let sandbox = Sandbox {
            dir,
            extra_env: Vec::new(),
        };
        sandbox.write_config(&serde_json::json!({}));
        sandbox
    }

    /// A sandbox with the mock plugin installed.
    pub fn with_mock() -> Self {
        let sandbox = Sandbox::new();
        sandbox.add_plugin(&mock_plugin(), "liborb_provider_mock.so");
        sandbox
    }

    /// The sandbox's root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The plugins directory.
    pub fn plugins_dir(&self) -> PathBuf {
        self.path().join("plugins")
    }

    /// The config file.
    pub fn config_file(&self) -> PathBuf {
        self.path().join("config").join("config.json")
    }

    /// Copies a library into the plugins directory as `file_name`.
    pub fn add_plugin(&self, library: &Path, file_name: &str) {
        std::fs::copy(library, self.plugins_dir().join(file_name)).unwrap_or_else(|e| {
            panic!("cannot copy {}: {e}", library.display());
        });
    }

    /// Replaces the config file.
    pub fn write_config(&self, config: &Value) {
        std::fs::write(
            self.config_file(),
            serde_json::to_string_pretty(config).unwrap(),
        )
        .unwrap();
    }

    /// Sets an environment variable for every later run.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.extra_env.push((name.to_owned(), value.to_owned()));
    }

    /// Runs `orb args...` with a clean environment: only PATH, HOME, the sandbox's
    /// `ORB_CONFIG_FILE`, `ORB_PLUGINS_DIR` and `ORB_WORK_DIR`, and what `set_env` added.
    pub fn orb(&self, args: &[&str]) -> Run {
        self.orb_env(args, &[])
    }

    /// Like [`Sandbox::orb`], with more environment variables for this run.
    pub fn orb_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(orb_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("ORB_CONFIG_FILE", self.config_file())
            .env("ORB_PLUGINS_DIR", self.plugins_dir())
            .env("ORB_WORK_DIR", self.path().join("work"))
            .current_dir(self.path());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("orb runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Builds a fixture Cargo project copied into `target/fixtures/src/<name>`, returning its
/// `cdylib`, copied to `target/fixtures/libs/<name>/`. `prepare` may rewrite the copy before
/// the build. Every fixture builds in one target directory, one at a time, so their shared
/// dependencies are compiled once.
fn build_fixture(
    name: &str,
    fixture: &str,
    library: &str,
    prepare: impl FnOnce(&Path) -> PathBuf,
) -> PathBuf {
    let _turn = FIXTURE_BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let fixtures_target = profile_dir().parent().expect("target/").join("fixtures");
    let src = fixtures_target.join("src").join(name);
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).unwrap();
    let crate_dir = src.join(fixture);
    copy_dir(
        &repo_root().join("tests/fixtures").join(fixture),
        &crate_dir,
    );
    std::fs::copy(repo_root().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let manifest = prepare(&src);
    let built = fixture_cargo(&manifest, "build").join(library);
    assert!(built.exists(), "{} was not built", built.display());
    let kept = fixtures_target.join("libs").join(name);
    std::fs::create_dir_all(&kept).unwrap();
    let lib = kept.join(library);
    std::fs::copy(&built, &lib).unwrap();
    lib
}

/// Fixture builds share one target directory, one build at a time.
static FIXTURE_BUILDS: Mutex<()> = Mutex::new(());

/// Runs `cargo <command> --quiet` on `manifest` in the fixtures' shared target directory,
/// failing with cargo's output unless it succeeds; returns the directory of debug artifacts.
/// The caller holds [`FIXTURE_BUILDS`].
fn fixture_cargo(manifest: &Path, command: &str) -> PathBuf {
    let target = profile_dir()
        .parent()
        .expect("target/")
        .join("fixtures/build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([command, "--quiet", "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {command} of {} failed:\n{}{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("debug")
}

/// Builds and tests the vendor crate at `dir` as `orb plugins new` wrote it (against the
/// interface crate this orb was built from, which it names by path), returning its library
/// `library`.
pub fn build_vendor_crate(dir: &Path, library: &str) -> PathBuf {
    let _turn = FIXTURE_BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let api = repo_root().join("plugin-api").canonicalize().unwrap();
    assert!(
        text.contains(&format!("path = {:?}", api.display().to_string())),
        "the scaffold names the interface crate orb was built from: {text}"
    );
    // The workspace's versions of the interface's dependencies (no newer release fetched).
    std::fs::copy(repo_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    fixture_cargo(&manifest, "test");
    fixture_cargo(&manifest, "build").join(library)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The external provider fixture built against the interface crate in `api` (a directory
/// holding `orb-plugin-api`), or this workspace's when `None`.
fn external_against(name: &str, api: Option<PathBuf>) -> PathBuf {
    build_fixture(
        name,
        "external-provider",
        "liborb_provider_external.so",
        |src| {
            let manifest = src.join("external-provider/Cargo.toml");
            let api = api.unwrap_or_else(|| repo_root().join("plugin-api"));
            rewrite(
                &manifest,
                "path = \"../../../plugin-api\"",
                &format!("path = {:?}", api),
            );
            manifest
        },
    )
}

/// The external provider fixture, built separately against the workspace's `orb-plugin-api`.
pub fn external_plugin() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| external_against("external", None))
}

/// The first release of the interface, frozen: `orb-plugin-api` 1.0.0 as `cargo package`
/// made it, kept in the repository as the archive a vendor would have downloaded.
pub const FROZEN_INTERFACE: &str = "1.0.0";

/// The external provider fixture built against the frozen [`FROZEN_INTERFACE`] release.
pub fn frozen_plugin() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let unpacked = profile_dir()
            .parent()
            .expect("target/")
            .join("fixtures/frozen");
        let _ = std::fs::remove_dir_all(&unpacked);
        std::fs::create_dir_all(&unpacked).unwrap();
        let archive = repo_root().join(format!(
            "tests/fixtures/orb-plugin-api-{FROZEN_INTERFACE}.crate"
        ));
        let status = Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked)
            .status()
            .expect("tar runs");
        assert!(status.success(), "cannot unpack {}", archive.display());
        let api = unpacked.join(format!("orb-plugin-api-{FROZEN_INTERFACE}"));
        external_against("frozen", Some(api))
    })
}

/// The host's interface version with its major number bumped.
pub fn bumped_interface_version() -> String {
    let host = interface_version();
    let major: u32 = host.split('.').next().unwrap().parse().unwrap();
    format!("{}.0.0", major + 1)
}

/// The host's interface version with its minor number bumped: a newer release of the same
/// major version.
pub fn newer_minor_version() -> String {
    let host = interface_version();
    let parts: Vec<u32> = host.split('.').map(|p| p.parse().unwrap()).collect();
    format!("{}.{}.0", parts[0], parts[1] + 1)
}

/// The host's interface version: the version of `orb-plugin-api`.
pub fn interface_version() -> String {
    let manifest = std::fs::read_to_string(repo_root().join("plugin-api/Cargo.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with("version"))
        .expect("orb-plugin-api has a version");
    line.split('"').nth(1).unwrap().to_owned()
}

/// The external provider fixture, built against a copy of `orb-plugin-api` whose version is
/// [`bumped_interface_version`]: a library of an incompatible interface version.
pub fn incompatible_plugin() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| external_against_copy("incompatible", &bumped_interface_version()))
}

/// The external provider fixture, built against a copy of `orb-plugin-api` whose version is
/// [`newer_minor_version`]: a library newer than the host.
pub fn newer_plugin() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| external_against_copy("newer", &newer_minor_version()))
}

/// The external provider fixture built against a copy of the workspace holding only the
/// interface crate, at `version`.
fn external_against_copy(name: &str, version: &str) -> PathBuf {
    build_fixture(
        name,
        "external-provider",
        "liborb_provider_external.so",
        |src| {
            copy_dir(&repo_root().join("plugin-api"), &src.join("plugin-api"));
            let root = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
            let members = root.lines().find(|l| l.starts_with("members")).unwrap();
            let root = root.replace(members, "members = [\"plugin-api\"]").replace(
                "exclude = [\"tests/fixtures\"]",
                "exclude = [\"external-provider\"]",
            );
            std::fs::write(src.join("Cargo.toml"), root).unwrap();
            rewrite(
                &src.join("plugin-api/Cargo.toml"),
                &format!("version = \"{}\"", interface_version()),
                &format!("version = \"{version}\""),
            );
            let manifest = src.join("external-provider/Cargo.toml");
            rewrite(
                &manifest,
                "path = \"../../../plugin-api\"",
                "path = \"../plugin-api\"",
            );
            manifest
        },
    )
}

/// A shared library that is not an orb plugin.
pub fn not_a_plugin() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        build_fixture(
            "not-a-plugin",
            "not-a-plugin",
            "libnot_a_plugin.so",
            |src| src.join("not-a-plugin/Cargo.toml"),
        )
    })
}

fn rewrite(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from}", file.display());
    std::fs::write(file, text.replace(from, to)).unwrap();
}

/// Links (or, across file systems, copies) `from` to `to`.
fn install_file(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to)
            .unwrap_or_else(|e| panic!("cannot install {}: {e}", from.display()));
    }
}

/// The Host Factory provider instance name every [`HfSite`] uses.
pub const HF_PROVIDER: &str = "mockinst";

/// A Symphony Host Factory site: orb installed with the mock plugin and the five scripts, a
/// provider configuration directory (`config.json` and IBM's `<name>prov_templates.json`), and
/// work and log directories. Scripts run as Host Factory runs them: `<script> -f <file>`, from
/// `/`, with nothing but Host Factory's environment.
pub struct HfSite {
    dir: tempfile::TempDir,
    inputs: std::sync::atomic::AtomicUsize,
    env: Vec<(String, String)>,
}

impl HfSite {
    /// A site whose provider instance `mockinst` has the mock `config`, with `templates`.
    pub fn new(mock_config: Value, templates: Value) -> Self {
        Self::with_config(
            serde_json::json!({
                "provider": {"providers": [{"name": HF_PROVIDER, "type": "mock", "config": mock_config}]},
                "logging": {"level": "debug"}
            }),
            templates,
        )
    }

    /// A site with the whole `config.json` given, on the mock plugin.
    pub fn with_config(config: Value, templates: Value) -> Self {
        Self::with_plugin(config, templates, &mock_plugin(), Vec::new())
    }

    /// A site with `plugin` installed and `env` added to Host Factory's environment.
    pub fn with_plugin(
        config: Value,
        templates: Value,
        plugin: &Path,
        env: Vec<(String, String)>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path();
        for sub in [
            "install/bin",
            "install/lib/orb/plugins",
            "install/scripts",
            "conf",
            "work",
            "log",
            "in",
        ] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        install_file(&orb_bin(), &root.join("install/bin/orb"));
        install_file(
            plugin,
            &root
                .join("install/lib/orb/plugins")
                .join(plugin.file_name().expect("a library file")),
        );
        for entry in std::fs::read_dir(repo_root().join("config/hostfactory/scripts")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                root.join("install/scripts").join(entry.file_name()),
            )
            .unwrap();
        }
        std::fs::write(root.join("conf/config.json"), config.to_string()).unwrap();
        std::fs::write(
            root.join(format!("conf/{HF_PROVIDER}prov_templates.json")),
            templates.to_string(),
        )
        .unwrap();
        HfSite {
            dir,
            inputs: std::sync::atomic::AtomicUsize::new(0),
            env,
        }
    }

    /// The site's root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds `name=value` to Host Factory's environment of every later call.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// Writes `input` to a new input file and returns its path.
    pub fn input_file(&self, input: &Value) -> PathBuf {
        let n = self
            .inputs
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = self.path().join("in").join(format!("hf_in_{n}"));
        std::fs::write(&path, serde_json::to_string_pretty(input).unwrap()).unwrap();
        path
    }

    /// Runs `<script>.sh -f <file holding input>`.
    pub fn call(&self, script: &str, input: &Value) -> Run {
        let file = self.input_file(input);
        self.call_args(script, &["-f", file.to_str().unwrap()])
    }

    /// Starts `<script>.sh -f <file holding input>` with its output piped, without waiting.
    pub fn spawn(&self, script: &str, input: &Value) -> std::process::Child {
        let file = self.input_file(input);
        let script = self
            .path()
            .join("install/scripts")
            .join(format!("{script}.sh"));
        let mut cmd = Command::new(script);
        cmd.args(["-f", file.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        self.command(&mut cmd, &[]).spawn().expect("spawns")
    }

    /// Runs `<script>.sh args...`.
    pub fn call_args(&self, script: &str, args: &[&str]) -> Run {
        let script = self
            .path()
            .join("install/scripts")
            .join(format!("{script}.sh"));
        self.run(Command::new(script).args(args), &[])
    }

    /// Runs `orb args...` in the site's environment.
    pub fn orb(&self, args: &[&str]) -> Run {
        self.run(
            Command::new(self.path().join("install/bin/orb")).args(args),
            &[],
        )
    }

    /// Runs `command` with Host Factory's environment, plus `env`.
    pub fn run(&self, command: &mut Command, env: &[(&str, &str)]) -> Run {
        let out = self
            .command(command, env)
            .output()
            .expect("the command runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `command` prepared with Host Factory's environment, plus `env`.
    pub fn command<'a>(&self, command: &'a mut Command, env: &[(&str, &str)]) -> &'a mut Command {
        let root = self.path();
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HF_PROVIDER_NAME", HF_PROVIDER)
            .env("HF_PROVIDER_CONFDIR", root.join("conf"))
            .env("HF_PROVIDER_WORKDIR", root.join("work"))
            .env("HF_PROVIDER_LOGDIR", root.join("log"))
            .current_dir("/");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        command
    }

    /// The log orb wrote.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("log/orb.log")).unwrap_or_default()
    }
}

/// A moto server (the EC2, Auto Scaling, SSM and STS emulator) on a free loopback port, seeded
/// with a VPC, subnets, a security group, a key pair, an image and a Spot Fleet role. Stopped
/// when dropped.
pub struct Moto {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The ids `scripts/moto-seed.py` created.
    pub seed: Value,
}

impl Moto {
    fn venv() -> PathBuf {
        std::env::var_os("ORB_MOTO_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/moto-venv"))
    }

    /// Starts and seeds a moto server.
    pub fn start() -> Moto {
        let server = Self::venv().join("bin/moto_server");
        assert!(
            server.exists(),
            "{} is missing: run `scripts/moto install` (scripts/test does)",
            server.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed().as_secs() < 60,
                "moto did not start on port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let mut moto = Moto {
            child,
            endpoint,
            seed: Value::Null,
        };
        moto.seed = moto.python(&repo_root().join("scripts/moto-seed.py"), &[]);
        moto
    }

    /// Runs a Python script of moto's environment with the endpoint as its first argument,
    /// returning its stdout as JSON.
    pub fn python(&self, script: &Path, args: &[&str]) -> Value {
        let out = Command::new(Self::venv().join("bin/python"))
            .arg(script)
            .arg(&self.endpoint)
            .args(args)
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the script prints JSON")
    }

    /// The environment a provider instance needs to reach this moto: region, test keys, no
    /// instance metadata service.
    pub fn provider_config(&self) -> Value {
        serde_json::json!({
            "region": "us-east-1",
            "endpoint_url": self.endpoint,
            "access_key_id": "testing",
            "secret_access_key": "testing",
        })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deep-merges `patch` into `base` (objects key by key; anything else replaces).
pub fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Generated JSON for the bad-input tests: nested lists and objects (bounded in depth and
/// size) whose keys are mostly the ones orb's parsers look for, and whose leaves are of every
/// type, including huge, negative and fractional numbers and blank strings.
pub fn generated_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let keys = prop_oneof![
        3 => prop::sample::select(vec![
            "template", "templateId", "template_id", "machineCount", "machine_count", "count",
            "requests", "requestId", "requestIds", "request_ids", "machines", "machineId",
            "machineIds", "machine_ids", "name", "machine",
        ])
        .prop_map(str::to_owned),
        1 => "[a-zA-Z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        prop::sample::select(vec![
            "Small",
            "Capped",
            "Open",
            " ",
            "",
            "0",
            "-1",
            "4294967295"
        ])
        .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A bounded property run: `cases` generated inputs, shrinking on failure.
pub fn check_generated<S: proptest::strategy::Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), proptest::test_runner::TestCaseError>,
) {
    let config = proptest::test_runner::Config {
        cases,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Default::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}
