// verify.js checks one webhook with the Standard Webhooks reference library,
// independently of faxgate's Go code. It reads a JSON object from stdin:
//   {"secret": "whsec_…", "headers": {"webhook-id": …}, "body_base64": "…"}
// and exits 0 when the library accepts the message, 1 when it rejects it as
// unverifiable, and 2 on any other error.
"use strict";
const { Webhook, WebhookVerificationError } = require("standardwebhooks");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  let req;
  try {
    req = JSON.parse(input);
  } catch (e) {
    console.error("bad input: " + e.message);
    process.exit(2);
  }
  const body = Buffer.from(req.body_base64, "base64");
  try {
    new Webhook(req.secret).verify(body, req.headers);
    console.log("ok");
    process.exit(0);
  } catch (e) {
    if (e instanceof WebhookVerificationError) {
      console.log("rejected: " + e.message);
      process.exit(1);
    }
    console.error("error: " + e.message);
    process.exit(2);
  }
});
