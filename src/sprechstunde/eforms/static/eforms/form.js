// Conditional questions of one screen: a question whose condition points at an answer on
// the same screen shows only while that answer matches (the server decides again on save,
// so without JavaScript every question shows and nothing depends on this file).
const form = document.querySelector("[data-eforms-form]");
if (form) {
  document.documentElement.classList.add("js-eforms");
  const dependants = Array.from(form.querySelectorAll("[data-show-if]"));
  const valueOf = (name) => {
    const inputs = Array.from(form.elements).filter((element) => element.name === name);
    const checked = inputs.find((element) => (element.type === "radio" ? element.checked : true));
    return checked ? checked.value : "";
  };
  const update = () => {
    for (const element of dependants) {
      const wanted = element.dataset.showValues.split(" ");
      const name = element.dataset.showIf;
      // Inside a group entry the condition may name a field of the same entry.
      const entry = element.closest("[data-testid*='-entry-']");
      let value = valueOf(name);
      if (entry) {
        const own = Array.from(entry.querySelectorAll("input, select, textarea")).find((input) =>
          input.name.endsWith(`-${name}`) && (input.type !== "radio" || input.checked),
        );
        if (own) value = own.value;
      }
      element.hidden = !wanted.includes(value);
    }
  };
  form.addEventListener("change", update);
  update();
}
