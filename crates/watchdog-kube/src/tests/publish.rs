//! The status writer and the leader-gated publisher against the scripted apiserver.

use std::time::Duration;

use hnsfleet_attestation::TipStatement;
use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::types::{BlockHash, TreeRoot};
use hnsfleet_reorg_verdict::{
    FreezeReason, Health, SourceKind, SourceReport, State, Transition, Verdict,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::mock::{
    ApiServer, client, clock, internal_error, metrics, not_found, parse_time, settings,
};
use crate::{Error, KubeMetrics, KubePublisher, Operation, Published};

const STATUS: &str = "/apis/hnsfleet.io/v1alpha1/namespaces/default/reorgwatches/hnsfleet/status";
const WATCHES: &str = "/apis/hnsfleet.io/v1alpha1/namespaces/default/reorgwatches";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const UID: &str = "5d2c6a41-8f0e-4b7a-a1c3-9e8d7f6b5a40";

fn tip(height: u32, hash: u8) -> TipStatement {
    TipStatement {
        network_magic: 0x5b6ef2d3,
        height,
        hash: BlockHash([hash; 32]),
        tree_root: TreeRoot([0x77; 32]),
        chainwork: [0; 32],
        time: 1_772_366_000,
        signed_at: 1_772_366_390,
    }
}

fn root() -> SafeRoot {
    SafeRoot {
        height: 1008,
        tree_root: TreeRoot([0xab; 32]),
    }
}

fn frozen() -> Verdict {
    Verdict {
        state: State::Frozen,
        root: Some(root()),
        agreed_tip: Some(tip(1030, 0x11)),
        reason: Some(FreezeReason::DeepReorg),
        frozen_since: Some(1_772_366_400),
        depth: 14,
        agreeing_blocks: 0,
        sources: vec![
            SourceReport {
                name: "http://follower-0:9000".to_owned(),
                kind: SourceKind::Follower,
                health: Health::Healthy,
                tip: Some(tip(1030, 0x11)),
                public_key: None,
                reorg_depth: 14,
                detail: String::new(),
            },
            SourceReport {
                name: "https://watchdog.example:8443".to_owned(),
                kind: SourceKind::Attester,
                health: Health::MinorityFork,
                tip: Some(tip(1029, 0x22)),
                public_key: Some([2; 33]),
                reorg_depth: 0,
                detail: "attests another block at a height the largest group attested".to_owned(),
            },
        ],
        quorum: 2,
        sequence: 42,
    }
}

fn thawed() -> Verdict {
    Verdict {
        state: State::Ok,
        reason: None,
        frozen_since: None,
        depth: 0,
        sequence: 57,
        ..frozen()
    }
}

fn froze() -> Transition {
    Transition::Froze {
        reason: FreezeReason::DeepReorg,
        depth: 14,
        root: Some(root()),
    }
}

/// The ReorgWatch as the apiserver returns it after a status patch.
fn reorgwatch(status: &Value) -> Value {
    json!({
        "apiVersion": "hnsfleet.io/v1alpha1",
        "kind": "ReorgWatch",
        "metadata": {
            "name": "hnsfleet",
            "namespace": "default",
            "uid": UID,
            "resourceVersion": "812",
            "generation": 1,
            "creationTimestamp": "2026-03-01T11:00:00Z",
        },
        "spec": { "network": "main" },
        "status": status,
    })
}

fn publisher(leading: bool) -> (KubePublisher, ApiServer, watch::Sender<bool>, KubeMetrics) {
    let (client, api) = client();
    let (tx, rx) = watch::channel(leading);
    let metrics = metrics();
    let mut settings = settings("pod-a");
    settings.network = Some("main".to_owned());
    let publisher = KubePublisher::new(client, settings, rx, metrics.clone()).with_clock(clock());
    (publisher, api, tx, metrics)
}

#[tokio::test(start_paused = true)]
async fn a_freeze_patches_the_status_and_records_a_warning_event() {
    let (mut publisher, mut api, _tx, metrics) = publisher(true);
    let publish = tokio::spawn(async move {
        let outcome = publisher.publish(&frozen(), Some(froze())).await;
        (publisher, outcome)
    });

    let patch = api.expect("PATCH", STATUS).await;
    assert_eq!(patch.content_type, "application/merge-patch+json");
    let status = &patch.body["status"];
    assert_eq!(status["state"], "FROZEN");
    assert_eq!(status["height"], 1030);
    assert_eq!(status["root"], "ab".repeat(32));
    assert_eq!(status["rootHeight"], 1008);
    assert_eq!(status["reason"], "deep_reorg");
    assert_eq!(status["frozenSince"], "2026-03-01T12:00:00Z");
    assert_eq!(status["depth"], 14);
    assert_eq!(status["agreeingBlocks"], 0);
    assert_eq!(status["quorum"], 2);
    assert_eq!(status["observedSequence"], 42);
    assert_eq!(status["leader"], "pod-a");
    assert_eq!(
        parse_time(&status["lastTransitionTime"]),
        "2026-03-01T12:00:00Z".parse().unwrap()
    );
    assert_eq!(
        status["sources"],
        json!([
            {
                "name": "http://follower-0:9000", "kind": "follower", "health": "healthy",
                "height": 1030, "hash": "11".repeat(32),
            },
            {
                "name": "https://watchdog.example:8443", "kind": "attester",
                "health": "minority_fork", "height": 1029, "hash": "22".repeat(32),
                "detail": "attests another block at a height the largest group attested",
            },
        ])
    );
    let status = status.clone();
    patch.reply(200, &reorgwatch(&status));

    let event = api.expect("POST", EVENTS).await;
    let body = &event.body;
    assert_eq!(body["apiVersion"], "events.k8s.io/v1");
    assert_eq!(body["kind"], "Event");
    assert_eq!(body["type"], "Warning");
    assert_eq!(body["reason"], "Froze");
    assert_eq!(body["action"], "Freeze");
    assert_eq!(body["reportingController"], "hnsfleet.io/reorg-watchdog");
    assert_eq!(body["reportingInstance"], "pod-a");
    assert_eq!(
        parse_time(&body["eventTime"]),
        "2026-03-01T12:00:00Z".parse().unwrap()
    );
    assert!(
        body["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("hnsfleet.")
    );
    assert_eq!(
        body["regarding"],
        json!({
            "apiVersion": "hnsfleet.io/v1alpha1", "kind": "ReorgWatch", "name": "hnsfleet",
            "namespace": "default", "uid": UID,
        })
    );
    let note = body["note"].as_str().unwrap();
    assert!(note.contains("14 blocks"), "{note}");
    assert!(note.contains(&"ab".repeat(32)), "{note}");
    assert!(note.contains("height 1008"), "{note}");
    let mut stored = body.clone();
    stored["metadata"]["resourceVersion"] = json!("813");
    stored["metadata"]["uid"] = json!("e1b0c7d2-3f4a-4b5c-8d9e-0a1b2c3d4e5f");
    event.reply(201, &stored);

    let (mut publisher, outcome) = publish.await.unwrap();
    assert_eq!(
        outcome.unwrap(),
        Published::Written {
            status: true,
            events: 1
        }
    );
    assert_eq!(metrics.errors(Operation::StatusPatch), 0);

    // The same verdict again: nothing to write.
    assert_eq!(
        publisher.publish(&frozen(), None).await.unwrap(),
        Published::Unchanged
    );
    api.assert_quiet(Duration::from_secs(30)).await;
}

#[tokio::test(start_paused = true)]
async fn a_thaw_clears_the_freeze_and_records_a_normal_event() {
    let (mut publisher, mut api, _tx, _metrics) = publisher(true);
    let publish = tokio::spawn(async move {
        publisher
            .publish(&thawed(), Some(Transition::Thawed { root: Some(root()) }))
            .await
    });
    let patch = api.expect("PATCH", STATUS).await;
    let status = &patch.body["status"];
    assert_eq!(status["state"], "OK");
    // Present and null: the merge patch removes what the freeze wrote.
    assert_eq!(status.get("reason"), Some(&Value::Null));
    assert_eq!(status.get("frozenSince"), Some(&Value::Null));
    assert_eq!(status["depth"], 0);
    let status = status.clone();
    patch.reply(200, &reorgwatch(&status));
    let event = api.expect("POST", EVENTS).await;
    assert_eq!(event.body["type"], "Normal");
    assert_eq!(event.body["reason"], "Thawed");
    event.reply_from(201, Value::clone);
    assert_eq!(
        publish.await.unwrap().unwrap(),
        Published::Written {
            status: true,
            events: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_reorgwatch_is_created_then_patched() {
    let (mut publisher, mut api, _tx, metrics) = publisher(true);
    let publish = tokio::spawn(async move { publisher.publish(&frozen(), None).await });
    api.expect("PATCH", STATUS)
        .await
        .reply(404, &not_found("reorgwatches.hnsfleet.io"));
    let create = api.expect("POST", WATCHES).await;
    assert_eq!(create.body["apiVersion"], "hnsfleet.io/v1alpha1");
    assert_eq!(create.body["kind"], "ReorgWatch");
    assert_eq!(create.body["metadata"]["name"], "hnsfleet");
    assert_eq!(create.body["spec"], json!({ "network": "main" }));
    create.reply(201, &reorgwatch(&Value::Null));
    let patch = api.expect("PATCH", STATUS).await;
    assert_eq!(patch.body["status"]["state"], "FROZEN");
    patch.reply_from(200, |body| reorgwatch(&body["status"]));
    assert_eq!(
        publish.await.unwrap().unwrap(),
        Published::Written {
            status: true,
            events: 0
        }
    );
    assert_eq!(metrics.errors(Operation::StatusPatch), 0);
    assert_eq!(metrics.errors(Operation::ResourceCreate), 0);
}

#[tokio::test(start_paused = true)]
async fn a_replica_that_does_not_lead_writes_nothing() {
    let (mut publisher, mut api, tx, _metrics) = publisher(false);
    assert_eq!(
        publisher.publish(&frozen(), Some(froze())).await.unwrap(),
        Published::NotLeader
    );
    assert_eq!(
        publisher.publish(&frozen(), None).await.unwrap(),
        Published::NotLeader
    );
    api.assert_quiet(Duration::from_secs(30)).await;

    // Once it leads it writes the current status, but not the Event of a transition it saw
    // while another replica led (that one recorded it).
    tx.send(true).unwrap();
    let publish = tokio::spawn(async move {
        let outcome = publisher.publish(&frozen(), None).await;
        (publisher, outcome)
    });
    let patch = api.expect("PATCH", STATUS).await;
    patch.reply_from(200, |body| reorgwatch(&body["status"]));
    let (mut publisher, outcome) = publish.await.unwrap();
    assert_eq!(
        outcome.unwrap(),
        Published::Written {
            status: true,
            events: 0
        }
    );
    api.assert_quiet(Duration::from_secs(30)).await;

    // Leadership lost: silent again.
    tx.send(false).unwrap();
    assert_eq!(
        publisher
            .publish(&thawed(), Some(Transition::Thawed { root: None }))
            .await
            .unwrap(),
        Published::NotLeader
    );
    api.assert_quiet(Duration::from_secs(30)).await;
}

#[tokio::test(start_paused = true)]
async fn api_errors_are_counted_and_retried_on_the_next_publication() {
    let (publisher, mut api, _tx, metrics) = publisher(true);
    let (calls, mut outcomes) = tokio::sync::mpsc::channel(1);
    let (requests, mut todo) = tokio::sync::mpsc::channel::<(Verdict, Option<Transition>)>(1);
    tokio::spawn(async move {
        let mut publisher = publisher;
        while let Some((verdict, transition)) = todo.recv().await {
            calls
                .send(publisher.publish(&verdict, transition).await)
                .await
                .unwrap();
        }
    });

    // 500 on the status: an error, counted.
    requests.send((frozen(), Some(froze()))).await.unwrap();
    api.expect("PATCH", STATUS)
        .await
        .reply(500, &internal_error());
    let outcome = outcomes.recv().await.unwrap();
    assert!(matches!(outcome, Err(Error::Api(_))), "{outcome:?}");
    assert_eq!(metrics.errors(Operation::StatusPatch), 1);

    // The next publication retries; this time the request hangs: a timeout, counted.
    requests.send((frozen(), None)).await.unwrap();
    let hung = api.expect("PATCH", STATUS).await.hang();
    let outcome = outcomes.recv().await.unwrap();
    assert!(matches!(outcome, Err(Error::Timeout(_))), "{outcome:?}");
    assert_eq!(metrics.errors(Operation::StatusPatch), 2);
    drop(hung);

    // Then the status lands, and the Froze Event kept since the first try is created; its
    // creation fails with 500.
    requests.send((frozen(), None)).await.unwrap();
    let patch = api.expect("PATCH", STATUS).await;
    patch.reply_from(200, |body| reorgwatch(&body["status"]));
    let event = api.expect("POST", EVENTS).await;
    assert_eq!(event.body["reason"], "Froze");
    event.reply(500, &internal_error());
    assert!(outcomes.recv().await.unwrap().is_err());
    assert_eq!(metrics.errors(Operation::EventCreate), 1);

    // The next publication creates the Event only (the status is unchanged).
    requests.send((frozen(), None)).await.unwrap();
    let event = api.expect("POST", EVENTS).await;
    assert_eq!(event.body["reason"], "Froze");
    assert_eq!(event.body["type"], "Warning");
    event.reply_from(201, Value::clone);
    assert_eq!(
        outcomes.recv().await.unwrap().unwrap(),
        Published::Written {
            status: false,
            events: 1
        }
    );
    api.assert_quiet(Duration::from_secs(30)).await;
}

#[tokio::test(start_paused = true)]
async fn start_wires_the_publisher_to_the_elector() {
    use super::mock::{LEASE, LEASES, lease, not_found};

    let (client, mut api) = client();
    let clock = clock();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (mut publisher, elector) = crate::start_with_clock(
        client,
        settings("pod-a"),
        metrics(),
        shutdown.clone(),
        clock.clone(),
    );
    // Before the Lease is acquired, nothing is published.
    assert_eq!(
        publisher.publish(&frozen(), None).await.unwrap(),
        Published::NotLeader
    );
    api.expect("GET", LEASE)
        .await
        .reply(404, &not_found("leases.coordination.k8s.io"));
    api.expect("POST", LEASES)
        .await
        .reply(201, &lease(Some("pod-a"), clock.at(0), 1, 0));
    let publish = tokio::spawn(async move {
        // Leadership reaches the publisher through the elector's watch.
        loop {
            match publisher.publish(&frozen(), None).await.unwrap() {
                Published::NotLeader => tokio::task::yield_now().await,
                outcome => return outcome,
            }
        }
    });
    let patch = api.expect("PATCH", STATUS).await;
    assert_eq!(patch.body["status"]["leader"], "pod-a");
    patch.reply_from(200, |body| reorgwatch(&body["status"]));
    assert_eq!(
        publish.await.unwrap(),
        Published::Written {
            status: true,
            events: 0
        }
    );
    shutdown.cancel();
    let release = api.expect("PUT", LEASE).await;
    assert!(release.body["spec"]["holderIdentity"].is_null());
    release.reply(200, &lease(None, clock.at(0), 2, 0));
    elector.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_new_term_writes_the_status_again() {
    let (publisher, mut api, tx, _metrics) = publisher(true);
    let publish = |mut publisher: KubePublisher| {
        tokio::spawn(async move {
            let outcome = publisher.publish(&frozen(), None).await;
            (publisher, outcome)
        })
    };
    let task = publish(publisher);
    api.expect("PATCH", STATUS)
        .await
        .reply_from(200, |body| reorgwatch(&body["status"]));
    let (publisher, outcome) = task.await.unwrap();
    assert_eq!(
        outcome.unwrap(),
        Published::Written {
            status: true,
            events: 0
        }
    );
    // Lost and regained between two publications: another leader may have written since.
    tx.send(false).unwrap();
    tx.send(true).unwrap();
    let task = publish(publisher);
    api.expect("PATCH", STATUS)
        .await
        .reply_from(200, |body| reorgwatch(&body["status"]));
    let (mut publisher, outcome) = task.await.unwrap();
    assert_eq!(
        outcome.unwrap(),
        Published::Written {
            status: true,
            events: 0
        }
    );
    assert_eq!(
        publisher.publish(&frozen(), None).await.unwrap(),
        Published::Unchanged
    );
}
