// An Express server for the expressjs-framework profile, answering on :8080.
const express = require("express");

const app = express();
app.get("/", (req, res) => res.send("Hello from an Express rock!\n"));
app.listen(8080, () => console.log("listening on :8080"));
