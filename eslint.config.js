// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

/** Time and randomness come from an injected Clock (and the id generator) in the pure layers. */
const IMPURE_TIME = [
  { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: "Date.now() reads the wall clock: take a Clock." },
  { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "new Date() reads the wall clock: take a Clock." },
  { selector: "CallExpression[callee.name='setTimeout']", message: "setTimeout: use the Clock's timers." },
  { selector: "CallExpression[callee.name='setImmediate']", message: "setImmediate: use runtime/next-turn." },
  { selector: "CallExpression[callee.name='setInterval']", message: "setInterval: use the Clock's timers." },
  { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: "Math.random: randomness is injected." },
];

export default tseslint.config(
  { ignores: ["gen/**", "dist/**", "node_modules/**", "coverage/**", "test-results/**", ".cache/**", "src/console/**", "bench/**", "deploy/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Type-aware rules where tsconfig.json type-checks (the tests are transpiled by vitest).
    files: ["src/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      // A `let` read by closures made before its one assignment (main.ts wires such cycles).
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  // Tests reach into untyped JSON answers and malformed inputs on purpose.
  { files: ["test/**/*.ts"], rules: { "@typescript-eslint/no-explicit-any": "off" } },
  { files: ["src/domain/**/*.ts", "src/scheduler/**/*.ts"], rules: { "no-restricted-syntax": ["error", ...IMPURE_TIME] } },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/main.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/store/sqlite/**", "**/store/mongo/**", "**/coordination/etcd/**", "**/coordination/local/**"],
              message: "Adapters are wired in src/main.ts only: depend on the port.",
            },
          ],
        },
      ],
    },
  },
);
