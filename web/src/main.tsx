/** The web monitor's entry point (web/index.html loads it). */
import { render } from "preact";
import { App } from "./components/app.js";
import "./styles.css";

const root = document.getElementById("app");
if (root === null) throw new Error("index.html has no #app element");
render(<App />, root);
