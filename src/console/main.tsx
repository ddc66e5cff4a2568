import { render } from "preact";
import { createCredentials } from "./api/credentials.js";
import { App } from "./app.js";
import "./styles.css";

/**
 * The API the page calls: its own origin, unless the build was told otherwise
 * (VITE_CRONMESH_API=https://cron.example.com for a page served elsewhere; the server then lists
 * this page's origin in CORS_ORIGINS).
 */
const baseUrl = (import.meta.env.VITE_CRONMESH_API as string | undefined) || location.origin;

render(<App baseUrl={baseUrl} credentials={createCredentials(sessionStorage)} />, document.getElementById("app")!);
