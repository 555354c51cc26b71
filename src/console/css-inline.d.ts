/** A stylesheet imported as text (`?inline`: Vite in the build, a small plugin in web-test-runner). */
declare module '*.css?inline' {
  const css: string;
  export default css;
}
