// /docs: Swagger UI on the fleet's own OpenAPI description, started from a file rather than an
// inline script (the dashboard's Content-Security-Policy forbids inline code).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.openapiUrl, dom_id: "#swagger-ui" });
});
