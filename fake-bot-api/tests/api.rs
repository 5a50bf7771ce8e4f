//! End-to-end tests of the fake Bot API over HTTP.

use std::time::Duration;

use anyhow::Result;
use ariza_fake_bot_api::{FakeBotApi, ScriptedResponse};
use serde_json::{Value, json};

const TOKEN: &str = "123456:TEST-token";
const WAIT: Duration = Duration::from_secs(5);

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()?)
}

async fn call(api: &FakeBotApi, method: &str, body: Value) -> Result<(u16, Value)> {
    let url = format!("{}/bot{}/{method}", api.base_url(), api.token());
    let resp = client()?.post(url).json(&body).send().await?;
    Ok((resp.status().as_u16(), resp.json().await?))
}

#[tokio::test]
async fn send_message_is_recorded_and_answered() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    assert!(api.base_url().starts_with("http://127.0.0.1:"));
    assert!(!api.base_url().ends_with('/'));

    let markup = json!({ "inline_keyboard": [[{ "text": "ok", "callback_data": "x" }]] });
    let (status, body) = call(
        &api,
        "SendMessage",
        json!({ "chat_id": 42, "text": "hi", "reply_markup": markup }),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["result"]["message_id"], 1);
    assert_eq!(
        body["result"]["chat"],
        json!({ "id": 42, "type": "private" })
    );
    assert_eq!(body["result"]["text"], "hi");
    assert_eq!(body["result"]["reply_markup"], markup);

    let (_, body) = call(
        &api,
        "sendMessage",
        json!({ "chat_id": 7, "text": "second" }),
    )
    .await?;
    assert_eq!(body["result"]["message_id"], 2);

    let sent = api.sent_messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        (sent[0].chat_id, sent[0].text.as_str(), sent[0].message_id),
        (42, "hi", 1)
    );
    assert_eq!(sent[0].reply_markup.as_ref(), Some(&markup));
    assert_eq!(sent[1].reply_markup, None);

    let calls = api.calls_of("sendMessage");
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.method == "sendmessage" && c.token_ok && c.status == 200)
    );
    assert_eq!(calls[0].body["chat_id"], 42);
    assert_eq!(api.call_count("SENDMESSAGE"), 2);

    api.clear();
    assert!(api.calls().is_empty() && api.sent_messages().is_empty());
    api.shutdown();
    Ok(())
}

#[tokio::test]
async fn form_and_get_requests_are_understood() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    let url = format!("{}/bot{TOKEN}/sendMessage", api.base_url());
    let resp = client()?
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=-100&text=a+b%21&reply_markup=%7B%22inline_keyboard%22%3A%5B%5D%7D")
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 200);
    let sent = api.sent_messages();
    assert_eq!((sent[0].chat_id, sent[0].text.as_str()), (-100, "a b!"));
    assert_eq!(sent[0].reply_markup, Some(json!({ "inline_keyboard": [] })));

    let me: Value = client()?
        .get(format!("{}/bot{TOKEN}/getMe", api.base_url()))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(me["result"]["id"], 123456);
    assert_eq!(me["result"]["is_bot"], true);

    let (status, body) = call(&api, "sendMessage", json!({ "chat_id": 1 })).await?;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: message text is empty"))
    );
    assert_eq!(api.sent_messages().len(), 1);
    Ok(())
}

#[tokio::test]
async fn wrong_token_gets_401_and_is_recorded() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    let url = format!("{}/botWRONG/sendMessage", api.base_url());
    let resp = client()?
        .post(url)
        .json(&json!({ "chat_id": 1, "text": "x" }))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await?;
    assert_eq!(
        body,
        json!({ "ok": false, "error_code": 401, "description": "Unauthorized" })
    );

    let calls = api.calls();
    assert_eq!(calls.len(), 1);
    assert!(!calls[0].token_ok);
    assert_eq!(calls[0].status, 401);
    assert!(api.sent_messages().is_empty());
    Ok(())
}

#[tokio::test]
async fn scripted_answers_are_one_shot_and_fifo() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    api.push_response("sendMessage", ScriptedResponse::too_many_requests(3));
    api.push_response("SENDMESSAGE", ScriptedResponse::server_error());
    let msg = json!({ "chat_id": 5, "text": "retry me" });

    let (status, body) = call(&api, "sendMessage", msg.clone()).await?;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], 3);
    assert_eq!(body["description"], "Too Many Requests: retry after 3");
    let (status, _) = call(&api, "sendMessage", msg.clone()).await?;
    assert_eq!(status, 500);
    let (status, body) = call(&api, "sendMessage", msg.clone()).await?;
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)));

    let calls = api.calls_of("sendmessage");
    let scripted: Vec<_> = calls.iter().map(|c| c.scripted_status).collect();
    assert_eq!(scripted, [Some(429), Some(500), None]);
    assert_eq!(api.sent_messages().len(), 1);
    Ok(())
}

#[tokio::test]
async fn failing_chat_fails_until_cleared() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    api.set_fail_chat(9, ScriptedResponse::forbidden_blocked());
    for _ in 0..2 {
        let (status, body) =
            call(&api, "sendMessage", json!({ "chat_id": 9, "text": "x" })).await?;
        assert_eq!(status, 403);
        assert_eq!(
            body["description"],
            "Forbidden: bot was blocked by the user"
        );
    }
    let (status, _) = call(&api, "sendMessage", json!({ "chat_id": 10, "text": "x" })).await?;
    assert_eq!(status, 200);
    api.clear_fail_chat(9);
    let (status, _) = call(&api, "sendMessage", json!({ "chat_id": 9, "text": "x" })).await?;
    assert_eq!(status, 200);
    assert_eq!(api.sent_messages().len(), 2);
    Ok(())
}

#[tokio::test]
async fn get_updates_honours_offset_and_long_polls() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    assert_eq!(api.push_update(json!({ "message": { "text": "a" } })), 1);
    assert_eq!(api.push_update(json!({ "message": { "text": "b" } })), 2);

    let (_, body) = call(&api, "getUpdates", json!({})).await?;
    let ids: Vec<_> = body["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| u["update_id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2)]);

    let (_, body) = call(&api, "getUpdates", json!({ "offset": 2 })).await?;
    assert_eq!(
        body["result"],
        json!([{ "update_id": 2, "message": { "text": "b" } }])
    );

    // Nothing pending: the poll is held until an update arrives.
    let poll = tokio::spawn({
        let url = format!("{}/bot{TOKEN}/getUpdates", api.base_url());
        async move {
            let body: Value = client()?
                .post(url)
                .json(&json!({ "offset": 3, "timeout": 30 }))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(body)
        }
    });
    api.wait_for_calls("getUpdates", 3, WAIT).await?;
    api.push_update(json!({ "message": { "text": "c" } }));
    let body = poll.await??;
    assert_eq!(body["result"][0]["update_id"], 3);

    // An empty poll returns [] after at most a second.
    let started = std::time::Instant::now();
    let (_, body) = call(&api, "getUpdates", json!({ "offset": 4, "timeout": 30 })).await?;
    assert_eq!(body["result"], json!([]));
    assert!(started.elapsed() < Duration::from_secs(3));
    Ok(())
}

#[tokio::test]
async fn wait_for_messages_resolves_and_times_out_clearly() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    let url = format!("{}/bot{TOKEN}/sendMessage", api.base_url());
    let sender = tokio::spawn(async move {
        let client = client()?;
        for i in 0..20 {
            client
                .post(&url)
                .json(&json!({ "chat_id": i, "text": format!("m{i}") }))
                .send()
                .await?;
        }
        anyhow::Ok(())
    });
    let sent = api.wait_for_messages(20, WAIT).await?;
    assert!(sent.len() >= 20);
    sender.await??;

    let err = api
        .wait_for_messages(21, Duration::from_millis(50))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("waiting for 21 sent messages"), "{err}");
    assert!(err.contains("\"m0\""), "{err}");
    Ok(())
}

#[tokio::test]
async fn other_methods_answer_true_and_edits_return_messages() -> Result<()> {
    let api = FakeBotApi::start(TOKEN)?;
    for method in [
        "answerCallbackQuery",
        "deleteWebhook",
        "setWebhook",
        "setMyCommands",
        "sendChatAction",
    ] {
        let (status, body) = call(&api, method, json!({})).await?;
        assert_eq!(
            (status, body),
            (200, json!({ "ok": true, "result": true })),
            "{method}"
        );
    }
    let (_, info) = call(&api, "getWebhookInfo", json!({})).await?;
    assert_eq!(info["result"]["url"], "");

    call(
        &api,
        "sendMessage",
        json!({ "chat_id": 3, "text": "before" }),
    )
    .await?;
    let (_, body) = call(
        &api,
        "editMessageText",
        json!({ "chat_id": 3, "message_id": 1, "text": "after" }),
    )
    .await?;
    assert_eq!(body["result"]["text"], "after");
    let markup = json!({ "inline_keyboard": [] });
    let (_, body) = call(
        &api,
        "editMessageReplyMarkup",
        json!({ "chat_id": 3, "message_id": 1, "reply_markup": markup }),
    )
    .await?;
    assert_eq!(body["result"]["text"], "after");
    assert_eq!(body["result"]["reply_markup"], markup);
    Ok(())
}
