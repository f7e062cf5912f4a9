/**
 * Local ESLint plugin `nex` (RELIABILITY §6 SEC-02: "a raw-helper lint passes in CI").
 *
 * `@nex/html` escapes every value interpolated into `html`...``; the only ways around it are `raw(x)`,
 * `new SafeHtml(x)` and forging the `SafeHtml` brand. These rules keep those ways visible:
 *
 * - `nex/no-unsafe-raw`: outside packages/html/src, `raw()` and `new SafeHtml()` only take a string
 *   literal, a template literal without `${}`, or a conditional/logical expression of those. Anything else
 *   needs `// eslint-disable-next-line nex/no-unsafe-raw -- <why it is safe>`. Uses that would hide a call
 *   from this check (`.map(raw)`, an alias, a subclass, a re-export, a dynamic import, the brand's key)
 *   are reported too.
 * - `nex/raw-disable-reason`: a disable directive covering `nex/no-unsafe-raw` must say why
 *   (`-- <reason>`), and may not be file-wide. ESLint has no such check built in, and
 *   @eslint-community/eslint-plugin-eslint-comments (`require-description`) is not installed.
 *
 * Plain ESM with JSDoc types; eslint-rules/nex-html.d.ts types it for the TypeScript tests.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const RULE = 'nex/no-unsafe-raw'
const REPO_ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
/** Modules whose `raw` and `SafeHtml` are @nex/html's (`nex` does not re-export them today; kept in case). */
const DEFAULT_MODULES = ['@nex/html', 'nex']
/** Where `raw` and `new SafeHtml` are the implementation itself, relative to the repository root. */
const DEFAULT_TRUSTED_DIRS = ['packages/html/src']
/** The key of the `SafeHtml` brand (packages/html/src/index.ts): whoever writes it forges trusted markup. */
// eslint-disable-next-line nex/no-unsafe-raw -- the rule's own copy of the key it looks for
const BRAND_KEY = '@nex/html.safe'
const GUARDED = new Set(['raw', 'SafeHtml'])

const HOW_TO_FIX = 'Build the markup with html`...` (it escapes every interpolated value) instead; ' +
  `if this value can never hold user input, say why: \`// eslint-disable-next-line ${RULE} -- <why it is safe>\`.`

/**
 * @typedef {import('eslint').Rule.RuleContext} RuleContext
 * @typedef {import('eslint').Rule.Node} RuleNode
 * @typedef {import('estree').Node} Node
 * @typedef {import('estree').Expression | import('estree').SpreadElement} Argument
 * @typedef {{ modules?: string[], trustedDirs?: string[] }} Options
 */

/**
 * True for the arguments that cannot carry user input: a string literal, a template literal without
 * `${}`, and conditional/logical expressions whose possible results are such literals.
 * @param {Node | undefined} node
 * @returns {boolean}
 */
function isConstantMarkup (node) {
  if (node === undefined) return false
  // TypeScript wrappers (`'<hr>' as const`, `x!`) do not change the value.
  const unwrapped = /** @type {any} */ (node)
  if (unwrapped.type === 'TSAsExpression' || unwrapped.type === 'TSSatisfiesExpression' ||
    unwrapped.type === 'TSNonNullExpression' || unwrapped.type === 'TSTypeAssertion') {
    return isConstantMarkup(unwrapped.expression)
  }
  switch (node.type) {
    case 'Literal':
      return typeof node.value === 'string'
    case 'TemplateLiteral':
      return node.expressions.length === 0
    case 'ConditionalExpression':
      // The test only picks a branch; it never becomes the value.
      return isConstantMarkup(node.consequent) && isConstantMarkup(node.alternate)
    case 'LogicalExpression':
      // `a && '<b>'` yields '<b>' or a falsy `a` ('', 0, false, null, undefined, NaN): none of them is
      // markup. `||` and `??` may yield their left side as it is, so it must be constant too.
      return node.operator === '&&'
        ? isConstantMarkup(node.right)
        : isConstantMarkup(node.left) && isConstantMarkup(node.right)
    default:
      return false
  }
}

/**
 * @param {RuleContext} context
 * @returns {{ modules: Set<string>, trusted: string[] }}
 */
function settingsOf (context) {
  const options = /** @type {Options} */ (context.options[0] ?? {})
  return {
    modules: new Set(options.modules ?? DEFAULT_MODULES),
    trusted: (options.trustedDirs ?? DEFAULT_TRUSTED_DIRS).map(dir => path.resolve(REPO_ROOT, dir))
  }
}

/**
 * @param {string} file
 * @param {string[]} dirs
 */
function isInside (file, dirs) {
  return dirs.some(dir => {
    const relative = path.relative(dir, file)
    return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative)
  })
}

/**
 * Whether an import specifier names @nex/html: one of `modules`, or a relative path into its sources
 * (packages/html/test imports `../src/index.js`).
 * @param {unknown} source
 * @param {string} filename
 * @param {{ modules: Set<string>, trusted: string[] }} settings
 */
function isHtmlModule (source, filename, settings) {
  if (typeof source !== 'string') return false
  if (settings.modules.has(source)) return true
  if (!source.startsWith('.')) return false
  const target = path.resolve(path.dirname(filename), source)
  return isInside(target, settings.trusted) || settings.trusted.includes(target)
}

/**
 * The property a member expression reads (`ns.raw`, `ns['raw']`), or undefined when it is computed.
 * @param {any} node
 * @returns {string | undefined}
 */
function propertyName (node) {
  if (!node.computed && node.property.type === 'Identifier') return node.property.name
  if (node.computed && node.property.type === 'Literal' && typeof node.property.value === 'string') return node.property.value
  return undefined
}

/** @type {import('eslint').Rule.RuleModule} */
const noUnsafeRaw = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow raw() and new SafeHtml() on anything but constant markup (SEC-02)'
    },
    schema: [{
      type: 'object',
      properties: {
        modules: { type: 'array', items: { type: 'string' } },
        trustedDirs: { type: 'array', items: { type: 'string' } }
      },
      additionalProperties: false
    }],
    messages: {
      unsafeCall: `\`{{name}}\` trusts its argument as markup without escaping it, and this argument is not a constant. ${HOW_TO_FIX}`,
      asValue: `\`{{name}}\` is used as a value here (passed, aliased or extended), which hides its calls from ${RULE}. Call it directly. ${HOW_TO_FIX}`,
      reexport: `Re-exporting \`{{name}}\` from @nex/html hides its calls from ${RULE}; import it from @nex/html where it is used.`,
      dynamicNamespace: `The @nex/html namespace is used dynamically, which hides raw() and SafeHtml from ${RULE}; write \`{{name}}.raw(...)\` directly or import the names you use.`,
      dynamicImport: `A dynamic import or require() of @nex/html hides raw() and SafeHtml from ${RULE}; use a static import.`,
      brand: `'${BRAND_KEY}' is the key of the SafeHtml brand: an object carrying it is sent unescaped. Use html\`...\` instead.`
    }
  },

  create (context) {
    const filename = context.filename
    const settings = settingsOf(context)
    // The implementation of @nex/html itself is the one place that makes SafeHtml from strings.
    if (isInside(filename, settings.trusted)) return {}
    const sourceCode = context.sourceCode

    /**
     * Checks a use of `raw` or `SafeHtml`; `node` is the identifier or `ns.raw` member expression.
     * @param {any} node
     * @param {string} name
     */
    function checkUse (node, name) {
      const parent = node.parent
      // `typeof raw` in a type makes nothing trusted.
      if (parent.type === 'TSTypeQuery') return
      if (name === 'raw' && parent.type === 'CallExpression' && parent.callee === node) {
        if (parent.arguments.length !== 1 || !isConstantMarkup(parent.arguments[0])) {
          context.report({ node: parent, messageId: 'unsafeCall', data: { name: 'raw()' } })
        }
        return
      }
      if (name === 'SafeHtml') {
        if (parent.type === 'NewExpression' && parent.callee === node) {
          if (parent.arguments.length !== 1 || !isConstantMarkup(parent.arguments[0])) {
            context.report({ node: parent, messageId: 'unsafeCall', data: { name: 'new SafeHtml()' } })
          }
          return
        }
        // Checking is fine: `x instanceof SafeHtml` makes nothing trusted.
        if (parent.type === 'BinaryExpression' && parent.operator === 'instanceof' && parent.right === node) return
      }
      if (parent.type === 'ExportSpecifier') {
        context.report({ node: parent, messageId: 'reexport', data: { name } })
        return
      }
      context.report({ node, messageId: 'asValue', data: { name } })
    }

    /**
     * @param {import('eslint').Scope.Variable} variable
     * @param {(identifier: any) => void} check
     */
    function eachValueReference (variable, check) {
      for (const reference of variable.references) {
        // typescript-eslint marks `x: SafeHtml` as a type reference: types never make markup.
        if (/** @type {any} */ (reference).isValueReference === false) continue
        check(reference.identifier)
      }
    }

    return {
      ImportDeclaration (node) {
        if (!isHtmlModule(node.source.value, filename, settings)) return
        if (/** @type {any} */ (node).importKind === 'type') return
        for (const specifier of node.specifiers) {
          if (/** @type {any} */ (specifier).importKind === 'type') continue
          const [variable] = sourceCode.getDeclaredVariables(specifier)
          if (variable === undefined) continue
          if (specifier.type === 'ImportSpecifier') {
            const imported = specifier.imported.type === 'Identifier' ? specifier.imported.name : String(specifier.imported.value)
            if (GUARDED.has(imported)) eachValueReference(variable, identifier => checkUse(identifier, imported))
          } else if (specifier.type === 'ImportNamespaceSpecifier') {
            eachValueReference(variable, identifier => {
              const parent = identifier.parent
              const name = parent.type === 'MemberExpression' && parent.object === identifier ? propertyName(parent) : undefined
              if (typeof name === 'string') {
                if (GUARDED.has(name)) checkUse(parent, name)
              } else {
                // `h[key]`, `fn(h)`, `export { h }`: raw could be reached without being named.
                context.report({ node: identifier, messageId: 'dynamicNamespace', data: { name: identifier.name } })
              }
            })
          }
        }
      },
      ExportNamedDeclaration (node) {
        if (node.source == null || !isHtmlModule(node.source.value, filename, settings)) return
        for (const specifier of node.specifiers) {
          const local = specifier.local.type === 'Identifier' ? specifier.local.name : String(specifier.local.value)
          if (GUARDED.has(local)) context.report({ node: specifier, messageId: 'reexport', data: { name: local } })
        }
      },
      ExportAllDeclaration (node) {
        if (isHtmlModule(node.source.value, filename, settings)) {
          context.report({ node, messageId: 'reexport', data: { name: 'raw' } })
        }
      },
      ImportExpression (node) {
        const source = node.source.type === 'Literal' ? node.source.value : undefined
        if (isHtmlModule(source, filename, settings)) context.report({ node, messageId: 'dynamicImport' })
      },
      CallExpression (node) {
        if (node.callee.type !== 'Identifier' || node.callee.name !== 'require') return
        const first = node.arguments[0]
        if (first?.type === 'Literal' && isHtmlModule(first.value, filename, settings)) {
          context.report({ node, messageId: 'dynamicImport' })
        }
      },
      Literal (node) {
        if (node.value === BRAND_KEY) context.report({ node, messageId: 'brand' })
      },
      TemplateElement (node) {
        if (node.value.cooked === BRAND_KEY && /** @type {any} */ (node).parent.quasis.length === 1) {
          context.report({ node, messageId: 'brand' })
        }
      }
    }
  }
}

const DIRECTIVE = /^\s*(eslint-disable|eslint-disable-line|eslint-disable-next-line)(?:\s|$)([\s\S]*)$/

/** @type {import('eslint').Rule.RuleModule} */
const rawDisableReason = {
  meta: {
    type: 'problem',
    docs: {
      description: `Require a reason on every disable directive that covers ${RULE}, and no file-wide one`
    },
    schema: [],
    messages: {
      noReason: `This directive turns off ${RULE}: say why the markup is safe after \` -- \`, e.g. \`// eslint-disable-next-line ${RULE} -- built from constants only\`.`,
      fileWide: `A file-wide disable hides every later raw() call from ${RULE}; use \`// eslint-disable-next-line ${RULE} -- <why>\` at each call.`
    }
  },

  create (context) {
    return {
      Program () {
        for (const comment of context.sourceCode.getAllComments()) {
          const match = DIRECTIVE.exec(comment.value)
          if (match === null) continue
          const kind = /** @type {string} */ (match[1])
          // ESLint honours a file-wide `eslint-disable` only in a block comment.
          if (kind === 'eslint-disable' && comment.type !== 'Block') continue
          // The same split ESLint uses: the rule list, then ` -- ` and the description.
          const [list = '', ...description] = /** @type {string} */ (match[2]).split(/\s-{2,}\s/u)
          const rules = list.split(',').map(rule => rule.trim()).filter(rule => rule !== '')
          // A directive without a rule list turns off every rule, this one included.
          if (rules.length > 0 && !rules.includes(RULE)) continue
          const loc = /** @type {import('estree').SourceLocation} */ (comment.loc)
          if (kind === 'eslint-disable') context.report({ loc, messageId: 'fileWide' })
          else if (description.join('').trim() === '') context.report({ loc, messageId: 'noReason' })
        }
      }
    }
  }
}

/** The plugin object for eslint.config.js: `plugins: { nex: nexHtml }`. */
const plugin = {
  meta: { name: 'eslint-plugin-nex-html', version: '0.1.0' },
  rules: {
    'no-unsafe-raw': noUnsafeRaw,
    'raw-disable-reason': rawDisableReason
  }
}

export default plugin
