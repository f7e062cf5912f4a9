// Types of the local ESLint plugin for the TypeScript tests (the plugin itself is plain ESM JavaScript).
import type { ESLint, Rule } from 'eslint'

declare const plugin: ESLint.Plugin & {
  rules: {
    'no-unsafe-raw': Rule.RuleModule
    'raw-disable-reason': Rule.RuleModule
  }
}

export default plugin
