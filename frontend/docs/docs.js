// The interactive API reference at /docs: Swagger UI (served from this
// directory) over the app's own /openapi.json. "Try it out" calls go to
// this origin only. The workbench keeps its token in this tab's
// sessionStorage: when it is there (the page was opened from the
// workbench in the same tab) it is filled in; otherwise Authorize asks
// for one.
"use strict";

(function () {
  var TOKEN_KEY = "llmos.token";

  function storedToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  }

  var ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#api",
    deepLinking: true,
    // No badge: it would send the document to a validator elsewhere.
    validatorUrl: null,
    // Send requests straight away, without "Try it out" first.
    tryItOutEnabled: true,
    displayOperationId: true,
    displayRequestDuration: true,
    filter: true,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    // Only requests to this app: the document's paths are relative.
    requestInterceptor: function (request) {
      var target = new URL(request.url, window.location.href);
      if (target.origin !== window.location.origin) {
        throw new Error("refusing a request outside this app: " + target.href);
      }
      return request;
    },
    onComplete: function () {
      var token = storedToken();
      if (token) {
        ui.preauthorizeApiKey("bearer", token);
      }
    },
  });
  window.ui = ui;
})();
