//! `GET /openapi.json` against a real sidecar: served without a token, covers every route the
//! router serves, and real responses carry the fields their documented schemas require.

mod common;

use serde_json::{json, Value};

use common::start;

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF8TM/gS/VamNjFneKKItNYHw8028ziB/7x1lcyFd5RU test@example";

/// Resolves `$ref` and `allOf` and checks that `value` has every required property with the
/// documented JSON type (recursing into object properties). Returns the problems found.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            problems.push(format!("{at}: dangling {r}"));
        } else {
            check(doc, target, value, at, problems);
        }
        return;
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        check(doc, part, value, at, problems);
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => true,
        });
        if !ok {
            problems.push(format!("{at}: {value} is not {types:?}"));
        }
    }
    for field in schema["required"].as_array().into_iter().flatten() {
        let name = field.as_str().unwrap_or_default();
        if value.get(name).is_none() {
            problems.push(format!("{at}: missing required {name:?} in {value}"));
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            if let Some(v) = value.get(name) {
                check(doc, prop, v, &format!("{at}.{name}"), problems);
            }
        }
    }
}

fn response_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    &doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
}

fn assert_valid(doc: &Value, method: &str, path: &str, value: &Value) {
    let schema = response_schema(doc, method, path);
    assert!(!schema.is_null(), "{method} {path}: no JSON schema");
    let mut problems = Vec::new();
    check(
        doc,
        schema,
        value,
        &format!("{method} {path}"),
        &mut problems,
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn document_is_open_and_covers_every_route() {
    let h = start(&[]).await;
    let r = h
        .http
        .get(h.url("/openapi.json"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "served without a token");
    let doc: Value = r.json().await.expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    let open_routes = sidecar::server::open_routes().routes;
    for (method, path) in sidecar::server::route_list() {
        let op = &doc["paths"][path][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {path} not documented");
        let open = open_routes.contains(&(method, path));
        assert_eq!(
            op["security"] == json!([]),
            open,
            "{method} {path}: security {}",
            op["security"]
        );
        let anon = h
            .http
            .request(method.parse().expect("method"), h.url(path))
            .send()
            .await
            .expect("send")
            .status();
        assert_eq!(
            anon.as_u16(),
            if open { 200 } else { 401 },
            "{method} {path}"
        );
        // Every route in the list is really served: with the token, neither the "no such
        // route" fallback nor 405 (parameters are literal placeholders; bodies are empty).
        let r = h
            .http
            .request(method.parse().expect("method"), h.url(path))
            .bearer_auth(common::TOKEN)
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        // Streams may stay open: a bounded read is enough to see a fallback body.
        let body = tokio::time::timeout(std::time::Duration::from_secs(2), r.text())
            .await
            .map(Result::unwrap_or_default)
            .unwrap_or_default();
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !body.contains("no such route"),
            "{method} {path} not routed: {status} {body}"
        );
    }
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            documented += 1;
            assert!(
                sidecar::server::route_list()
                    .iter()
                    .any(|(m, p)| m.eq_ignore_ascii_case(method) && p == path),
                "documented but not served: {method} {path}"
            );
        }
    }
    assert_eq!(documented, sidecar::server::route_list().len());
}

#[tokio::test]
async fn real_responses_match_their_schemas() {
    let h = start(&[]).await;
    std::fs::create_dir(h.homes.path().join("agent")).expect("home");
    let doc: Value = h
        .http
        .get(h.url("/openapi.json"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");

    let health: Value = h
        .http
        .get(h.url("/health"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_valid(&doc, "get", "/health", &health);

    let (s, exec) = h.post("/v1/exec", json!({ "command": "echo hi" })).await;
    assert_eq!(s, 200, "{exec}");
    assert_valid(&doc, "post", "/v1/exec", &exec);

    let (s, key) = h
        .post(
            "/v1/ssh/keys",
            json!({ "username": "agent", "public_key": ED25519 }),
        )
        .await;
    assert_eq!(s, 200, "{key}");
    assert_valid(&doc, "post", "/v1/ssh/keys", &key);

    let (s, snap) = h.post("/v1/snapshots", json!({})).await;
    assert_eq!(s, 200, "{snap}");
    assert_valid(&doc, "post", "/v1/snapshots", &snap);
    let (s, list) = h.get("/v1/snapshots").await;
    assert_eq!(s, 200, "{list}");
    assert_valid(&doc, "get", "/v1/snapshots", &list);

    let (s, listing) = h.get("/v1/files/list?path=.").await;
    assert_eq!(s, 200, "{listing}");
    assert_valid(&doc, "get", "/v1/files/list", &listing);

    // The checker is not vacuous: a response missing a required field fails it.
    let mut broken = exec.clone();
    broken.as_object_mut().expect("object").remove("exit_code");
    let mut problems = Vec::new();
    check(
        &doc,
        response_schema(&doc, "post", "/v1/exec"),
        &broken,
        "broken",
        &mut problems,
    );
    assert!(
        problems.iter().any(|p| p.contains("exit_code")),
        "{problems:?}"
    );
}
