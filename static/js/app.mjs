// Starts GOV.UK Frontend's components on every page. Loaded as a module, so
// browsers too old for GOV.UK Frontend's JavaScript ignore it.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();

// Search results come from a POST (names never travel in a URL). The page takes the
// address of "Back to results" in the history instead, so that the browser's back button
// from a record or the reason question shows the results again (audited as a view of
// results, not a new search) rather than asking to send the form again.
const results = document.querySelector("[data-results-url]");
if (results && window.history.replaceState) {
  window.history.replaceState(null, "", results.dataset.resultsUrl + "#results");
}

// The print version of a record (recorded as a print before it is sent) opens the browser's
// print dialogue by itself, once the page and its styles have loaded.
if (document.querySelector("[data-print-on-load]")) {
  window.addEventListener("load", () => window.print());
}
