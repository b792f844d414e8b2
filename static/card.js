/* The card form: Stripe.js (from the configured gateway) turns the card into a token in the
   browser; only the token is posted to ocopkit, which charges it server-side. */
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  if (!form) { return; }
  var button = document.getElementById("card-submit");
  var errors = document.getElementById("card-errors");
  if (typeof Stripe === "undefined") {
    document.getElementById("card-unavailable").hidden = false;
    return;
  }
  var stripe = Stripe(form.dataset.key);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  button.hidden = false;
  form.addEventListener("submit", function (event) {
    var token = document.getElementById("card-token");
    if (token.value) { return; }
    event.preventDefault();
    button.disabled = true;
    errors.hidden = true;
    stripe.createToken(card).then(function (result) {
      if (result.error || !result.token) {
        errors.textContent = (result.error && result.error.message) || form.dataset.failed;
        errors.hidden = false;
        button.disabled = false;
        return;
      }
      token.value = result.token.id;
      form.submit();
    });
  });
})();
