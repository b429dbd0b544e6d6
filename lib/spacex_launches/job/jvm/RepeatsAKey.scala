package spacex_launches.jvm

import java.util.{ArrayDeque, HashSet}

import com.fasterxml.jackson.core.{JsonFactory, JsonFactoryBuilder, JsonProcessingException, JsonToken}
import com.fasterxml.jackson.core.json.JsonReadFeature
import org.apache.spark.sql.api.java.UDF1

/** The test of the `no_duplicate_keys` rule (docs/data-quality.md): whether an object anywhere in the
  * first JSON value of a text holds a key twice. Keys are compared as decoded (`"a"` and `"\u0061"`
  * are one key), as Spark's JSON functions compare them. One streaming pass over the text: no value is
  * re-serialised, which a check built from Spark's JSON functions must do at every level it goes down.
  *
  * Null for null and for a text that is not JSON (malformed, truncated, nested deeper than the
  * parser's limit): the other text rules name those.
  */
class RepeatsAKey extends UDF1[String, java.lang.Boolean] {
  override def call(text: String): java.lang.Boolean =
    if (text == null) null else RepeatsAKey.test(text)
}

object RepeatsAKey {

  /** JSON as Spark's from_json reads it by default: single quotes, NaN and Infinity are accepted. */
  private val factory: JsonFactory = new JsonFactoryBuilder()
    .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
    .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
    .build()

  def test(text: String): java.lang.Boolean = {
    val parser = factory.createParser(text)
    try {
      val keysOfOpenObjects = new ArrayDeque[HashSet[String]]()
      var repeated = false
      var depth = 0
      var token = parser.nextToken()
      if (token == null) return null // no value at all
      do {
        token match {
          case JsonToken.START_OBJECT =>
            keysOfOpenObjects.push(new HashSet[String]()); depth += 1
          case JsonToken.END_OBJECT => keysOfOpenObjects.pop(); depth -= 1
          case JsonToken.START_ARRAY => depth += 1
          case JsonToken.END_ARRAY => depth -= 1
          case JsonToken.FIELD_NAME =>
            if (!keysOfOpenObjects.peek().add(parser.currentName())) repeated = true
          case _ =>
        }
        if (depth > 0) token = parser.nextToken()
      } while (depth > 0 && token != null)
      if (depth > 0) null else java.lang.Boolean.valueOf(repeated)
    } catch {
      case _: JsonProcessingException => null
    } finally parser.close()
  }
}
