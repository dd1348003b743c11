import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { HearthProvider } from "./app/hearth";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("#root missing from index.html");

createRoot(root).render(
  <StrictMode>
    <HearthProvider>
      <App />
    </HearthProvider>
  </StrictMode>,
);
