// Starts GOV.UK Frontend's components on every page. Loaded as a module, so
// browsers too old for GOV.UK Frontend's JavaScript ignore it.
import { initAll } from "/static/govuk/govuk-frontend.min.js";

initAll();
