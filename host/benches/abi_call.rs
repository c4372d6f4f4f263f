//! The cost of one provider call across the plugin ABI, against the same call in-process.
//!
//! The call is the mock provider's `validate_template`: pure computation, no I/O, so the
//! figures show the boundary's cost and nothing else. Four paths, side by side:
//! - `direct`: the provider linked into the benchmark, called through its Rust trait;
//! - `json_only`: what every boundary adds at least: decoding the input and encoding the
//!   output, without the call;
//! - `boundary_in_process`: the same provider behind the stable-ABI object the SDK builds
//!   (dispatch by operation name, JSON decoding and encoding, `catch_unwind`, a span), without
//!   loading a library;
//! - `across_abi`: the provider built by the mock plugin library, loaded from disk as the host
//!   loads it, called synchronously through the frozen core (`call` by name, JSON in and out);
//! - `across_abi_typed`: the same, with the host encoding the input and decoding the output;
//! - `host_handle`: the host's real path, `ProviderHandle` (the above on tokio's blocking pool).
//!
//! A second group, `instance_types`, makes a call whose JSON is small (one instance type in,
//! its size out), so that the core's own cost shows: `direct` beside `across_abi`.
//!
//! Run with `scripts/bench-abi`, which builds the plugin library in release mode first.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use orb::plugins::{load_library, LoadOptions, ProviderHandle};
use orb_plugin_api::host::in_process;
use orb_plugin_api::operations::op;
use orb_plugin_api::{Provider, ProviderContext, Template};
use orb_provider_mock::MockProvider;

fn template() -> Template {
    serde_json::from_value(serde_json::json!({
        "templateId": "bench", "vmType": "m5.large", "imageId": "ami-1", "priceType": "spot"
    }))
    .expect("template")
}

fn plugin_path() -> PathBuf {
    std::env::var_os("ORB_BENCH_MOCK_PLUGIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/release/liborb_provider_mock.so")
        })
}

fn bench(c: &mut Criterion) {
    let work = tempfile::tempdir().expect("temporary directory");
    let ctx = ProviderContext {
        provider_type: "mock".into(),
        instance_name: "bench".into(),
        config: serde_json::json!({}),
        work_dir: work.path().to_owned(),
    };
    let template = template();
    let template_json = serde_json::to_string(&template).expect("encodes");

    let direct = MockProvider::new(&ctx).expect("mock");
    let boundary = in_process(
        Box::new(MockProvider::new(&ctx).expect("mock")),
        "mock",
        "bench",
    );

    let path = plugin_path();
    let loaded_plugin = load_library(&path, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e} (build it with scripts/bench-abi)"));
    let plugin = loaded_plugin.library().expect("loaded");
    let loaded = plugin
        .new_provider("mock", "bench", "{}", work.path())
        .expect("the plugin builds a provider");
    let handle_object = plugin
        .new_provider("mock", "bench", "{}", work.path())
        .expect("the plugin builds a provider");
    let handle = ProviderHandle::new("bench", handle_object, Default::default());
    let typed = plugin
        .new_provider("mock", "bench", "{}", work.path())
        .expect("the plugin builds a provider");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("validate_template");
    group.bench_function("direct", |b| {
        b.iter(|| direct.validate_template(&template).expect("validates"))
    });
    let problems = direct.validate_template(&template).expect("validates");
    group.bench_function("json_only", |b| {
        b.iter(|| {
            let decoded: Template = serde_json::from_str(&template_json).expect("decodes");
            (decoded, serde_json::to_string(&problems).expect("encodes"))
        })
    });
    group.bench_function("boundary_in_process", |b| {
        b.iter(|| {
            boundary
                .call_json("validate_template", &template_json)
                .expect("validates")
        })
    });
    group.bench_function("across_abi", |b| {
        b.iter(|| {
            loaded
                .call_json("validate_template", &template_json)
                .expect("validates")
        })
    });
    group.bench_function("across_abi_typed", |b| {
        b.iter(|| {
            typed
                .call::<op::ValidateTemplate>(&template)
                .expect("validates")
        })
    });
    group.bench_function("host_handle", |b| {
        b.to_async(&runtime).iter(|| async {
            handle
                .call::<op::ValidateTemplate>(&template)
                .await
                .expect("validates")
        })
    });
    group.finish();

    let names = vec!["m5.large".to_owned()];
    let names_json = serde_json::to_string(&names).expect("encodes");
    let mut group = c.benchmark_group("instance_types");
    group.bench_function("direct", |b| {
        b.iter(|| direct.instance_types(names.clone()).expect("answers"))
    });
    group.bench_function("across_abi", |b| {
        b.iter(|| {
            loaded
                .call_json("instance_types", &names_json)
                .expect("answers")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
