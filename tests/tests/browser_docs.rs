//! The interactive API reference at `/docs` in headless Chromium: the
//! workbench links to it, it renders this app's document with no console
//! error and no request leaving the app, and a "try it" call made with a
//! pasted token answers for real.
//!
//! Build the app first (from the workspace root): `./dev build`.

mod browser_support;

use browser_support::*;

#[test]
fn the_reference_renders_and_a_call_tried_with_a_pasted_token_answers() {
    let (host, token) = start_app();
    block_on(async {
        let browser = Browser::start().await;
        let page = Workbench::open(&browser.client, &host, &token).await;
        let href: String = page
            .js("const a = document.querySelector('#api-docs'); return a ? a.getAttribute('href') : ''")
            .await;
        assert_eq!(href, "/docs", "the workbench links to the reference");

        // In the same tab the workbench's token is in the session: the
        // reference starts authorized with it.
        browser
            .client
            .goto(&host.url("/docs"))
            .await
            .expect("open /docs");
        page.wait_text(".swagger-ui .info .title", "the document's title", |t| {
            t.contains("LLMos-Lite")
        })
        .await;
        let operations: usize = page
            .js("return document.querySelectorAll('.opblock').length")
            .await;
        assert!(operations > 50, "only {operations} operations shown");
        page.screenshot("docs-page").await;
        page.click(".swagger-ui .auth-wrapper .authorize").await;
        page.wait_text(".swagger-ui .modal-ux .auth-container", "Authorized", |t| {
            t.contains("Authorized")
        })
        .await;

        // Log out, and paste the token as a user does.
        page.click(".swagger-ui .modal-ux button[aria-label='Remove authorization']")
            .await;
        let field = page.wait_for(".swagger-ui .modal-ux input").await;
        field.send_keys(&token).await.expect("paste the token");
        page.click(".swagger-ui .modal-ux .auth-btn-wrapper .authorize")
            .await;
        page.wait_text(".swagger-ui .modal-ux .auth-container", "Authorized", |t| {
            t.contains("Authorized")
        })
        .await;
        page.click(".swagger-ui .modal-ux .btn-done").await;

        // Try `GET /auth/me`.
        let op = "#operations-auth-auth-me";
        page.click(&format!("{op} .opblock-summary")).await;
        page.click(&format!("{op} .execute")).await;
        let answer = page
            .wait_text(
                &format!("{op} .live-responses-table"),
                "the answer to GET /auth/me",
                |t| t.contains("alice"),
            )
            .await;
        assert!(answer.contains("200"), "{answer}");
        assert!(answer.contains("\"role\": \"user\""), "{answer}");
        let _: Option<bool> = page
            .js(&format!(
                "document.querySelector('{op} .live-responses-table').scrollIntoView(); return null"
            ))
            .await;
        page.screenshot("docs-tried").await;

        let errors = page.console_errors().await;
        assert!(errors.is_empty(), "{errors:?}");
        let base = host.url("/");
        for url in page.requested_urls().await {
            assert!(url.starts_with(&base), "{url} is outside the app");
        }
        browser.close().await;
    });
}
